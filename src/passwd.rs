//! `tickets passwd`: a person changes their own password, as psql's `\password` does: the
//! new one is asked twice (or read from standard input) and only its SCRAM verifier is sent.

use crate::db::{DbError, Target};
use eyre::{Result, bail, eyre};
use std::io::BufRead;

/// Reads a new password: the first line of standard input, or prompted twice. `outcome` ends
/// the refusals ("nothing was created").
pub fn read_new_password(prompt_for: &str, from_stdin: bool, outcome: &str) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        // Without a terminal (a script, cron, a pipe) rpassword fails with ENXIO.
        let no_terminal = |e: std::io::Error| {
            eyre::eyre!(
                "there is no terminal to ask for {prompt_for}'s password ({e}): give it on stdin with --password-stdin, e.g. printf '%s\\n' \"$PASSWORD\" | tickets … --password-stdin; {outcome}"
            )
        };
        let first = rpassword::prompt_password(format!("New password for {prompt_for}: "))
            .map_err(no_terminal)?;
        let again = rpassword::prompt_password("Again: ").map_err(no_terminal)?;
        if first != again {
            bail!("the passwords do not match; {outcome}");
        }
        first
    };
    if password.is_empty() {
        bail!("the password must not be empty; {outcome}");
    }
    Ok(password)
}

/// Logs in as `login` (without typing when the server lets them: peer, certificate, .pgpass,
/// PGPASSWORD; else asking for the current password) and sets the new password.
pub async fn change(target: &Target, login: &str, from_stdin: bool) -> Result<()> {
    let mut target = target.clone();
    target.user(login);
    let client = match target.connect().await {
        Ok(c) => c,
        Err(DbError::Unreachable(m)) if m.contains("password missing") => {
            if from_stdin {
                bail!(
                    "the server asks for {login}'s current password: give it with PGPASSWORD or ~/.pgpass when using --password-stdin"
                );
            }
            let current = rpassword::prompt_password(format!("Current password for {login}: "))?;
            target.password(&current);
            target.connect().await?
        }
        Err(e) => return Err(e.into()),
    };
    let new = read_new_password(login, from_stdin, "nothing was changed")?;
    crate::people::change_own_password(&client, &new)
        .await
        .map_err(|e| eyre!("the password was not changed: {e}"))?;
    Ok(())
}
