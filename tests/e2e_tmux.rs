//! End to end: the real `tickets` binary in a real terminal (tmux), logging in through the form,
//! working, quitting, and leaving the terminal as it found it.

mod common;

use common::{TestDb, TestPerson};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), running one command in an 80x24 window.
///
/// The server starts with XDG_* variables that point at a decoy of the user's own directories,
/// as a developer's environment may: the test's command must not write there (checked on drop).
struct Tmux {
    socket: String,
    user_dirs: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("tickets-e2e-{}-{name}", std::process::id());
        let user_dirs = tempfile::tempdir().unwrap();
        let t = Tmux { socket, user_dirs };
        let status = Command::new("tmux")
            .arg("-L")
            .arg(&t.socket)
            .args(["start-server", ";", "set-option", "-g", "exit-empty", "off"])
            .env("XDG_DATA_HOME", t.user_dirs.path().join("data"))
            .env("XDG_STATE_HOME", t.user_dirs.path().join("state"))
            .env("XDG_CONFIG_HOME", t.user_dirs.path().join("config"))
            .env("XDG_CACHE_HOME", t.user_dirs.path().join("cache"))
            .status()
            .expect("tmux is installed");
        assert!(status.success(), "tmux start-server");
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        t.run(&["set-option", "-t", "e2e", "remain-on-exit", "on"]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types text literally.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Sends named keys (Enter, Tab, Escape, C-c, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    fn wait_until_gone(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.screen().contains(text) {
            assert!(Instant::now() < deadline, "{text:?} stays on the screen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        if !std::thread::panicking() {
            let written: Vec<_> = std::fs::read_dir(self.user_dirs.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert!(
                written.is_empty(),
                "the test wrote into the user's XDG directories: {written:?}"
            );
        }
    }
}

/// The shell line that runs the client against the test database, then reports how it ended:
/// its exit code and whether the terminal is back in canonical mode with echo (not raw).
fn client_command(db: &TestDb, person: &TestPerson, home: &std::path::Path) -> String {
    let config = db.login_config(person);
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
    };
    format!(
        "{env} TERM=xterm-256color {bin} --host {host} --port {port} --dbname {db}; \
         echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon\\|-\\?echo' | tr '\\n' ' '; echo; sleep 60",
        env = common::private_home_shell(home),
        bin = env!("CARGO_BIN_EXE_tickets"),
        port = config.get_ports()[0],
        db = db.name,
    )
}

fn log_in(t: &Tmux, person: &TestPerson) {
    t.wait_for("Password");
    t.type_text(&person.login);
    t.keys(&["Tab"]);
    t.type_text(&person.password);
    t.keys(&["Enter"]);
}

fn assert_restored(t: &Tmux) {
    let screen = t.wait_for("icanon");
    assert!(screen.contains("EXIT=0"), "clean exit:\n{screen}");
    assert!(
        screen.contains("icanon echo") && !screen.contains("-icanon"),
        "terminal left in raw mode:\n{screen}"
    );
    let alternate = t.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the alternate screen was left");
}

#[tokio::test]
async fn a_customer_logs_in_files_a_ticket_and_quits_cleanly() {
    let db = TestDb::new().await;
    db.start_notifier(); // as `tickets notifier` beside a real server
    let alice = db.person("customer", "alice").await;
    let home = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        "customer",
        &client_command(&db, &alice, home.path()),
        80,
        24,
    );

    // A wrong password first: one clear line in the form, nothing else happens.
    t.wait_for("Password");
    t.type_text(&alice.login);
    t.keys(&["Tab"]);
    t.type_text("wrong");
    t.keys(&["Enter"]);
    t.wait_for("Wrong login or password.");
    t.keys(&["C-u"]);
    t.type_text(&alice.password);
    t.keys(&["Enter"]);
    t.wait_for("My tickets (0)");

    t.type_text("n");
    t.wait_for("Subject");
    t.type_text("Laptop will not boot");
    t.keys(&["Tab"]);
    t.type_text("Black screen since the update.");
    t.keys(&["C-s"]);
    let screen = t.wait_for("My tickets (1)");
    assert!(screen.contains("Laptop will not boot"), "{screen}");
    assert!(screen.contains("open"), "the status by name:\n{screen}");
    t.type_text("q");
    assert_restored(&t);

    let admin = db.admin().await;
    let row = admin
        .query_one(
            "SELECT t.description, u.login FROM tickets t JOIN users u ON u.id = t.customer_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Black screen since the update.");
    assert_eq!(row.get::<_, String>(1), alice.login);
}

#[tokio::test]
async fn an_agent_claims_from_the_pool_and_ctrl_c_restores_the_terminal() {
    let db = TestDb::new().await;
    db.start_notifier(); // as `tickets notifier` beside a real server
    let bob = db.person("customer", "bob").await;
    let agent = db.person("agent", "al").await;
    db.login(&bob)
        .await
        .execute(
            "INSERT INTO tickets (subject, priority) VALUES ('VPN down', 'urgent')",
            &[],
        )
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let t = Tmux::start("agent", &client_command(&db, &agent, home.path()), 80, 24);
    log_in(&t, &agent);
    t.wait_for("Unassigned (1)");
    t.type_text("]");
    t.wait_for("VPN down");
    t.type_text("c");
    t.wait_for("VPN down: claimed, it is yours.");
    t.wait_for("Mine (1)");
    t.type_text("[");
    t.wait_for("VPN down");
    t.type_text("?");
    t.wait_for("claim");
    t.keys(&["Escape"]);
    // An Escape closely followed by another key reads as Alt+key: wait for the help to close.
    t.wait_until_gone("Keys");
    t.keys(&["C-c"]);
    assert_restored(&t);

    let admin = db.admin().await;
    let assigned: String = admin
        .query_one(
            "SELECT u.login FROM tickets t JOIN users u ON u.id = t.agent_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(assigned, agent.login);
}

#[test]
fn the_demo_starts_its_own_server_seeds_it_logs_in_and_stops_it_again() {
    let home = tempfile::tempdir().unwrap();
    let command = format!(
        "{env} TERM=xterm-256color {bin} demo; echo EXIT=$?; \
         stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon\\|-\\?echo' | tr '\\n' ' '; echo; sleep 60",
        env = common::private_home_shell(home.path()),
        bin = env!("CARGO_BIN_EXE_tickets"),
    );
    let t = Tmux::start("demo", &command, 100, 30);
    let screen = t.wait_for("Try demo_agent1");
    assert!(screen.contains("Login"), "{screen}");
    t.type_text("demo_agent1");
    t.keys(&["Tab"]);
    t.type_text("demo");
    t.keys(&["Enter"]);
    t.wait_for("Unassigned (");
    t.type_text("q");
    assert_restored(&t);
    let screen = t.screen();
    assert!(screen.contains("seeded 300 tickets"), "{screen}");
    // The server is stopped on exit: no postmaster.pid left in the demo's data directory.
    let data = home.path().join(".local/share/tickets/demo/data");
    assert!(data.join("PG_VERSION").exists(), "the demo keeps its data");
    assert!(
        !data.join("postmaster.pid").exists(),
        "the demo server was stopped"
    );
}

/// The shell line that runs `tickets demo` with its own home, then reports how it ended.
fn demo_command(home: &std::path::Path) -> String {
    format!(
        "{env} TERM=xterm-256color {bin} demo; echo EXIT=$?; sleep 60",
        env = common::private_home_shell(home),
        bin = env!("CARGO_BIN_EXE_tickets"),
    )
}

/// The demo server's postmaster pid, from its postmaster.pid (None when it is not running).
fn postmaster(data: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    // SAFETY: kill with signal 0 only asks whether the process exists.
    (unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

fn wait_until_stopped(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    // SAFETY: as in postmaster().
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "{what}: postmaster {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops a demo server a failed test left behind.
struct StopLeftover(std::path::PathBuf);

impl Drop for StopLeftover {
    fn drop(&mut self) {
        if tickets::db::cluster::Cluster::is_running_in(&self.0)
            && let Ok(c) = tickets::db::cluster::Cluster::start(&self.0, 5432)
        {
            let _ = c.stop("immediate");
        }
    }
}

#[test]
fn closing_the_demos_terminal_stops_its_server_and_a_leftover_is_taken_over() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".local/share/tickets/demo");
    let _cleanup = StopLeftover(dir.clone());
    let data = dir.join("data");

    // Closing the terminal (tmux kills the window: the client gets SIGHUP) stops the server.
    let t = Tmux::start("demo-hup", &demo_command(home.path()), 100, 30);
    t.wait_for("Try demo_agent1");
    let pid = postmaster(&data).expect("the demo server runs");
    t.run(&["kill-window", "-t", "e2e"]);
    wait_until_stopped(pid, "after the demo's terminal was closed");

    // A client killed outright (SIGKILL: no handler, no unwinding) stops it too.
    let t = Tmux::start("demo-kill", &demo_command(home.path()), 100, 30);
    t.wait_for("Try demo_agent1");
    let pid = postmaster(&data).expect("the demo server runs");
    let shell = t.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
    let shell = shell.trim();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let client: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill on the client this test started.
    assert_eq!(unsafe { libc::kill(client, libc::SIGKILL) }, 0);
    wait_until_stopped(pid, "after the demo's client was killed");
    drop(t);

    // A server left running in the demo's directory by no running demo (as an older tickets
    // left it) is taken over and stopped on quit.
    let leftover = tickets::db::cluster::Cluster::start(&dir, 5432).unwrap();
    let pid = postmaster(&data).expect("the leftover server runs");
    drop(leftover);
    let t = Tmux::start("demo-leftover", &demo_command(home.path()), 100, 30);
    t.wait_for("Try demo_agent1");
    let before = t.run(&["capture-pane", "-p", "-a", "-t", "e2e"]);
    assert!(before.contains("takes it over"), "{before}");
    t.keys(&["Escape"]);
    t.wait_for("EXIT=0");
    wait_until_stopped(
        pid,
        "after quitting a demo that took over a leftover server",
    );
}

#[test]
fn the_demo_lists_every_login_and_prints_a_second_client_command_that_works() {
    let home = tempfile::tempdir().unwrap();
    let _cleanup = StopLeftover(home.path().join(".local/share/tickets/demo"));
    let demo = Tmux::start("demo-two", &demo_command(home.path()), 100, 30);
    let form = demo.wait_for("Try demo_agent1");
    let logins = [
        "demo_admin1",
        "demo_agent1",
        "demo_agent2",
        "demo_agent3",
        "demo_agent4",
    ];
    let customers = (1..=6).map(|i| format!("demo_customer{i}"));
    for login in logins.into_iter().map(str::to_owned).chain(customers) {
        assert!(
            form.contains(&login),
            "{login} is not on the login form:\n{form}"
        );
    }

    // What the demo printed before the client took the screen: the second client's command.
    let printed = demo.run(&["capture-pane", "-p", "-a", "-J", "-t", "e2e"]);
    let intro = "open a second client in another terminal:";
    let command = printed
        .lines()
        .skip_while(|l| !l.contains(intro))
        .nth(1)
        .unwrap_or_else(|| panic!("no second-client command printed:\n{printed}"))
        .trim()
        .to_owned();
    let line = format!(
        "{env} TERM=xterm-256color {command}; echo EXIT=$?; sleep 60",
        env = common::private_home_shell(home.path())
    );
    let second = Tmux::start("demo-second", &line, 100, 30);
    second.wait_for("Password");
    second.type_text("demo_admin1");
    second.keys(&["Tab"]);
    second.type_text("demo");
    second.keys(&["Enter"]);
    second.wait_for("All tickets (300)");

    demo.type_text("demo_agent1");
    demo.keys(&["Tab"]);
    demo.type_text("demo");
    demo.keys(&["Enter"]);
    demo.wait_for("Unassigned (");
    second.type_text("q");
    second.wait_for("EXIT=0");
    demo.type_text("q");
    demo.wait_for("EXIT=0");
    let after = demo.run(&["capture-pane", "-p", "-J", "-t", "e2e"]);
    assert!(
        after.contains(&command),
        "the command again on exit:\n{after}"
    );
}

/// The real binary's output, as tmux receives it from the pane (pipe-pane), while an admin
/// scrolls the list: bytes per `j` within issue 15's budget at 80x24 and 200x60, and the
/// cursor visible again after quitting (the frames hide it).
#[tokio::test]
async fn scrolling_the_list_costs_few_bytes_per_key_on_the_real_terminal() {
    let db = TestDb::new().await;
    let cara = db.person("customer", "cara").await;
    let ada = db.person("admin", "ada").await;
    db.login(&cara)
        .await
        .execute(
            "INSERT INTO tickets (subject, description, priority) \
             SELECT 'Printer on floor ' || g || ' prints blank pages', 'Since Monday.', \
                    (ARRAY['low','normal','high','urgent'])[1 + g % 4]::ticket_priority \
             FROM generate_series(1, 150) g",
            &[],
        )
        .await
        .unwrap();
    for (w, h, budget) in [(80u16, 24u16, 2000u64), (200, 60, 4000)] {
        let home = tempfile::tempdir().unwrap();
        let name = format!("bytes{w}");
        let t = Tmux::start(&name, &client_command(&db, &ada, home.path()), w, h);
        log_in(&t, &ada);
        t.wait_for(" 1/100+ ");
        let capture = home.path().join("pane.out");
        t.run(&[
            "pipe-pane",
            "-o",
            "-t",
            "e2e",
            &format!("cat >> {}", capture.display()),
        ]);
        let size = || std::fs::metadata(&capture).map_or(0, |m| m.len());
        // Past the middle of the window first, so that every key scrolls the list.
        for n in 2..=30 {
            t.type_text("j");
            t.wait_for(&format!(" {n}/100+ "));
        }
        std::thread::sleep(Duration::from_millis(300));
        let start = size();
        for n in 31..=60 {
            t.type_text("j");
            t.wait_for(&format!(" {n}/100+ "));
        }
        std::thread::sleep(Duration::from_millis(300));
        let per_key = (size() - start) / 30;
        println!("{w}x{h}: {per_key} B per j on the real terminal");
        assert!(
            per_key <= budget,
            "{w}x{h}: {per_key} B per j (budget {budget})"
        );
        t.type_text("q");
        assert_restored(&t);
        let cursor = t.run(&["display-message", "-p", "-t", "e2e", "#{cursor_flag}"]);
        assert_eq!(cursor.trim(), "1", "the cursor is visible again");
    }
}
