//! The current schema in one file: the catalog of a freshly migrated database, rendered as
//! readable text and compared with `tests/snapshots/schema__schema.snap`.
//!
//! Read the snapshot to learn what *is* in the database after every migration (the function
//! bodies and policies that later migrations replaced appear only in their current version).
//! A migration that changes the schema changes the snapshot: regenerate it with
//! `INSTA_UPDATE=always cargo test --test schema` (or `cargo insta review`) and commit the diff
//! with the migration; the diff is the migration's effective change.
//!
//! The rendering is deterministic: every list is sorted, no OIDs, and nothing that depends on
//! the test database's name or the server's superuser appears.

mod common;

use common::TestDb;
use std::fmt::Write;
use tokio_postgres::Client;

/// The schemas the migrations create objects in.
const SCHEMAS: &str = "ARRAY['public', 'app']";

/// Runs `sql` and returns every row as its text columns (NULL as None).
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("catalog query failed: {e}\n{sql}"))
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .collect()
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// Appends a comment (if any) as indented `-- ` lines.
fn comment(out: &mut String, indent: &str, c: &Option<String>) {
    if let Some(c) = c {
        for line in c.lines() {
            let _ = writeln!(out, "{indent}-- {line}");
        }
    }
}

/// An ACL (as text, or None for the built-in default) as one line per grantee, sorted. Only
/// grantees named by `keep` are listed (the others, e.g. the superuser owning the database,
/// depend on the server).
async fn acl(client: &Client, acl: &Option<String>, keep: fn(&str) -> bool) -> Vec<String> {
    let Some(acl) = acl else {
        return vec!["(default privileges)".into()];
    };
    let lines = client
        .query(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                    string_agg(a.privilege_type
                               || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                               ', ' ORDER BY a.privilege_type)
               FROM aclexplode($1::text::aclitem[]) a GROUP BY 1 ORDER BY 1",
            &[acl],
        )
        .await
        .expect("explode an ACL");
    let out: Vec<String> = lines
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .filter(|(who, _)| keep(who))
        .map(|(who, what)| format!("{who}: {what}"))
        .collect();
    if out.is_empty() {
        vec!["(none of PUBLIC and the tickets_* roles)".into()]
    } else {
        out
    }
}

/// An owner's name; the superuser who ran the migrations (it owns `schema_migrations`)
/// differs between servers.
fn owner(name: &str) -> &str {
    if name.starts_with("tickets_") {
        name
    } else {
        "(the superuser who migrated)"
    }
}

fn anyone(_: &str) -> bool {
    true
}

fn ours(who: &str) -> bool {
    who == "PUBLIC" || who.starts_with("tickets_")
}

async fn roles(client: &Client, out: &mut String) {
    out.push_str("# Roles (cluster-wide; only the tickets_* roles)\n");
    let roles = rows(
        client,
        "SELECT r.rolname,
                concat_ws(' ',
                    CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                    CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                    CASE WHEN NOT r.rolinherit THEN 'NOINHERIT' END,
                    CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                    CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
                    CASE WHEN r.rolreplication THEN 'REPLICATION' END,
                    CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
                    CASE WHEN r.rolconnlimit <> -1 THEN 'CONNECTION LIMIT ' || r.rolconnlimit END),
                (SELECT string_agg(g.rolname || CASE WHEN m.admin_option THEN ' (admin)' ELSE '' END,
                                   ', ' ORDER BY g.rolname)
                   FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                  WHERE m.member = r.oid),
                (SELECT string_agg(u.rolname, ', ' ORDER BY u.rolname)
                   FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member
                  WHERE m.roleid = r.oid AND u.rolname LIKE 'tickets\\_%'),
                shobj_description(r.oid, 'pg_authid')
           FROM pg_roles r WHERE r.rolname LIKE 'tickets\\_%' ORDER BY r.rolname",
    )
    .await;
    for r in &roles {
        let _ = writeln!(out, "\nrole {}: {}", text(&r[0]), text(&r[1]));
        comment(out, "  ", &r[4]);
        if let Some(of) = &r[2] {
            let _ = writeln!(out, "  member of: {of}");
        }
        if let Some(members) = &r[3] {
            let _ = writeln!(out, "  tickets_* members: {members}");
        }
    }
    let params = rows(
        client,
        "SELECT parname, paracl::text FROM pg_parameter_acl ORDER BY parname",
    )
    .await;
    out.push_str("\nprivileges on parameters:\n");
    for p in &params {
        for line in acl(client, &p[1], ours).await {
            if !line.starts_with("(none") {
                let _ = writeln!(out, "  {}: {line}", text(&p[0]));
            }
        }
    }
}

async fn database(client: &Client, out: &mut String) {
    out.push_str("\n# The database (the owner's own rights not shown)\n\n");
    let db = rows(
        client,
        "SELECT datacl::text FROM pg_database WHERE datname = current_database()",
    )
    .await;
    out.push_str("privileges:\n");
    for line in acl(client, &db[0][0], ours).await {
        let _ = writeln!(out, "  {line}");
    }
    let fns = rows(
        client,
        "SELECT p.oid::regprocedure::text, p.proacl::text FROM pg_proc p
          WHERE p.oid IN ('pg_catalog.pg_terminate_backend(integer, bigint)'::regprocedure,
                          'pg_catalog.pg_cancel_backend(integer)'::regprocedure)
          ORDER BY 1",
    )
    .await;
    for f in &fns {
        let _ = writeln!(out, "{}:", text(&f[0]));
        for line in acl(client, &f[1], ours).await {
            let _ = writeln!(out, "  {line}");
        }
    }
    let defaults = rows(
        client,
        "SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '(all schemas)'),
                CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                     WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' ELSE 'schemas' END,
                d.defaclacl::text
           FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
          ORDER BY 1, 2, 3",
    )
    .await;
    for d in &defaults {
        let _ = writeln!(
            out,
            "default privileges of {} in {} on new {}:",
            text(&d[0]),
            text(&d[1]),
            text(&d[2])
        );
        for line in acl(client, &d[3], anyone).await {
            let _ = writeln!(out, "  {line}");
        }
    }
}

async fn schemas(client: &Client, out: &mut String) {
    let list = rows(
        client,
        &format!(
            "SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text,
                    obj_description(n.oid, 'pg_namespace')
               FROM pg_namespace n WHERE n.nspname = ANY ({SCHEMAS}) ORDER BY 1"
        ),
    )
    .await;
    for s in &list {
        let _ = writeln!(out, "\n# Schema {}\n", text(&s[0]));
        comment(out, "", &s[3]);
        // public belongs to the database owner (pg_database_owner): not ours to name.
        if text(&s[0]) != "public" {
            let _ = writeln!(out, "owner: {}", text(&s[1]));
        }
        out.push_str("privileges:\n");
        for line in acl(client, &s[2], ours).await {
            let _ = writeln!(out, "  {line}");
        }
    }
}

/// The extensions the migrations install, in the schema they put them in (their members are
/// left out of the lists below; no version, which is the server package's, not ours).
async fn extensions(client: &Client, out: &mut String) {
    let list = rows(
        client,
        &format!(
            "SELECT e.extname, n.nspname FROM pg_extension e
               JOIN pg_namespace n ON n.oid = e.extnamespace
              WHERE n.nspname = ANY ({SCHEMAS}) ORDER BY 1"
        ),
    )
    .await;
    out.push_str("\n# Extensions\n\n");
    for e in &list {
        let _ = writeln!(out, "{} in schema {}", text(&e[0]), text(&e[1]));
    }
}

async fn types(client: &Client, out: &mut String) {
    out.push_str("\n# Types\n");
    let list = rows(
        client,
        &format!(
            "SELECT format('%I.%I', n.nspname, t.typname), pg_get_userbyid(t.typowner),
                    (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
                       FROM pg_enum e WHERE e.enumtypid = t.oid),
                    obj_description(t.oid, 'pg_type'), t.typacl::text
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = ANY ({SCHEMAS}) AND t.typtype = 'e'
              ORDER BY 1"
        ),
    )
    .await;
    for t in &list {
        let _ = writeln!(out, "\nenum {} ({})", text(&t[0]), text(&t[2]));
        comment(out, "  ", &t[3]);
        let _ = writeln!(out, "  owner: {}", text(&t[1]));
        let privileges = acl(client, &t[4], ours).await;
        if privileges != ["(default privileges)"] {
            let _ = writeln!(out, "  privileges: {}", privileges.join("; "));
        }
    }
}

async fn relations(client: &Client, out: &mut String) {
    let list = rows(
        client,
        &format!(
            "SELECT c.oid::text, format('%I.%I', n.nspname, c.relname),
                    CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                         WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                         WHEN 'S' THEN 'sequence' ELSE 'relation' END,
                    pg_get_userbyid(c.relowner),
                    CASE WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END
                      || CASE WHEN c.relforcerowsecurity THEN ', forced' ELSE '' END,
                    c.relacl::text, obj_description(c.oid, 'pg_class'),
                    CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY ({SCHEMAS}) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              ORDER BY 2"
        ),
    )
    .await;
    for r in &list {
        let oid = text(&r[0]);
        let _ = writeln!(out, "\n# {} {}\n", text(&r[2]), text(&r[1]));
        comment(out, "", &r[6]);
        let _ = writeln!(out, "owner: {}", owner(text(&r[3])));
        let _ = writeln!(out, "row level security: {}", text(&r[4]));
        if let Some(def) = &r[7] {
            let _ = writeln!(out, "definition:\n{def}");
        }
        columns(client, out, oid).await;
        let constraints = rows(
            client,
            &format!(
                "SELECT conname, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint')
                   FROM pg_constraint WHERE conrelid = {oid} ORDER BY conname"
            ),
        )
        .await;
        if !constraints.is_empty() {
            out.push_str("constraints:\n");
            for c in &constraints {
                let _ = writeln!(out, "  {}: {}", text(&c[0]), text(&c[1]));
                comment(out, "    ", &c[2]);
            }
        }
        let indexes = rows(
            client,
            &format!(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                        obj_description(i.indexrelid, 'pg_class')
                   FROM pg_index i WHERE i.indrelid = {oid} ORDER BY 1"
            ),
        )
        .await;
        if !indexes.is_empty() {
            out.push_str("indexes:\n");
            for i in &indexes {
                // "CREATE [UNIQUE] INDEX name ON table USING ..." less what the heading says.
                let def = text(&i[1])
                    .replacen(&format!(" {} ON {} USING", text(&i[0]), text(&r[1])), "", 1)
                    .replacen("CREATE UNIQUE INDEX ", "UNIQUE ", 1)
                    .replacen("CREATE INDEX ", "", 1);
                let _ = writeln!(out, "  {}: {def}", text(&i[0]));
                comment(out, "    ", &i[2]);
            }
        }
        let triggers = rows(
            client,
            &format!(
                "SELECT tgname, pg_get_triggerdef(oid), obj_description(oid, 'pg_trigger')
                   FROM pg_trigger WHERE tgrelid = {oid} AND NOT tgisinternal ORDER BY tgname"
            ),
        )
        .await;
        if !triggers.is_empty() {
            out.push_str("triggers:\n");
            for t in &triggers {
                let _ = writeln!(out, "  {}", text(&t[1]));
                comment(out, "    ", &t[2]);
            }
        }
        policies(client, out, oid).await;
        out.push_str("privileges:\n");
        for line in acl(client, &r[5], ours).await {
            let _ = writeln!(out, "  {line}");
        }
        column_privileges(client, out, oid).await;
    }
}

async fn columns(client: &Client, out: &mut String, oid: &str) {
    let cols = rows(
        client,
        &format!(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attnotnull THEN 'NOT NULL' END,
                    CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS ('
                              || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
                         WHEN d.adbin IS NOT NULL THEN 'DEFAULT ' || pg_get_expr(d.adbin, d.adrelid)
                    END,
                    CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY'
                         WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END,
                    col_description(a.attrelid, a.attnum)
               FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum"
        ),
    )
    .await;
    out.push_str("columns:\n");
    for c in &cols {
        let words: Vec<&str> = c[1..5].iter().filter_map(|w| w.as_deref()).collect();
        let _ = writeln!(out, "  {} {}", text(&c[0]), words.join(" "));
        comment(out, "    ", &c[5]);
    }
}

async fn policies(client: &Client, out: &mut String, oid: &str) {
    let list = rows(
        client,
        &format!(
            "SELECT p.polname,
                    CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                    CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                         WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                    (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END,
                                       ', ' ORDER BY 1)
                       FROM unnest(p.polroles) r),
                    pg_get_expr(p.polqual, p.polrelid),
                    pg_get_expr(p.polwithcheck, p.polrelid),
                    obj_description(p.oid, 'pg_policy')
               FROM pg_policy p WHERE p.polrelid = {oid} ORDER BY p.polname"
        ),
    )
    .await;
    if list.is_empty() {
        return;
    }
    out.push_str("policies:\n");
    for p in &list {
        let _ = writeln!(
            out,
            "  {}: {} FOR {} TO {}",
            text(&p[0]),
            text(&p[1]),
            text(&p[2]),
            text(&p[3])
        );
        comment(out, "    ", &p[6]);
        if let Some(q) = &p[4] {
            let _ = writeln!(out, "    USING {q}");
        }
        if let Some(w) = &p[5] {
            let _ = writeln!(out, "    WITH CHECK {w}");
        }
    }
}

async fn column_privileges(client: &Client, out: &mut String, oid: &str) {
    let list = rows(
        client,
        &format!(
            "SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
                    x.privilege_type, string_agg(a.attname, ', ' ORDER BY a.attnum)
               FROM pg_attribute a, aclexplode(a.attacl) x
              WHERE a.attrelid = {oid} AND a.attacl IS NOT NULL
              GROUP BY 1, 2 ORDER BY 1, 2"
        ),
    )
    .await;
    for c in list.iter().filter(|c| ours(text(&c[0]))) {
        let _ = writeln!(out, "  {}: {} ({})", text(&c[0]), text(&c[1]), text(&c[2]));
    }
}

async fn functions(client: &Client, out: &mut String) {
    let list = rows(
        client,
        &format!(
            "SELECT format('%I.%I(%s)', n.nspname, p.proname,
                           pg_get_function_identity_arguments(p.oid)),
                    pg_get_userbyid(p.proowner), p.proacl::text,
                    obj_description(p.oid, 'pg_proc'), pg_get_functiondef(p.oid)
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = ANY ({SCHEMAS})
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                   AND d.deptype = 'e')
              ORDER BY n.nspname, p.proname, 1"
        ),
    )
    .await;
    for f in &list {
        let _ = writeln!(out, "\n# function {}\n", text(&f[0]));
        comment(out, "", &f[3]);
        let _ = writeln!(out, "owner: {}", owner(text(&f[1])));
        let _ = writeln!(
            out,
            "may execute: {}",
            acl(client, &f[2], anyone)
                .await
                .iter()
                .map(|l| l.trim_end_matches(": EXECUTE"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "{}", text(&f[4]).trim_end());
    }
}

/// The whole catalog of the tickets schema as text.
async fn render(client: &Client) -> String {
    let mut out = String::new();
    out.push_str(
        "The tickets schema after every migration, as the catalog has it (tests/schema.rs).\n\
         Generated: do not edit; regenerate with INSTA_UPDATE=always cargo test --test schema.\n\n",
    );
    roles(client, &mut out).await;
    database(client, &mut out).await;
    schemas(client, &mut out).await;
    extensions(client, &mut out).await;
    types(client, &mut out).await;
    relations(client, &mut out).await;
    functions(client, &mut out).await;
    // Each database has its own login group (0021), named after it: show this one's under a
    // stable name, and not those of the other databases in the test cluster.
    let group: String = client
        .query_one("SELECT login_group::text FROM app.database_identity", &[])
        .await
        .unwrap()
        .get(0);
    out.lines()
        .filter(|l| !l.contains("tickets_db_") || l.contains(&group))
        .map(|l| l.replace(&group, "tickets_db_<database>") + "\n")
        .collect()
}

#[tokio::test]
async fn the_migrated_schema_is_the_snapshot() {
    let db = TestDb::new().await;
    let client = db.admin().await;
    let schema = render(&client).await;
    // Twice from the same database: the rendering itself is stable.
    assert_eq!(schema, render(&client).await);
    insta::assert_snapshot!("schema", schema);
}
