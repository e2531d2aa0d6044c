-- Drops what setup.sql made (the claims and releases leave every pool ticket in the pool).
DROP SCHEMA benchpg CASCADE;
