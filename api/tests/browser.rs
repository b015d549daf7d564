//! Browser tests of the web front: headless Debian Chromium driven over WebDriver by
//! ChromeDriver, from Rust with `fantoccini`. A real `motcua serve` (tokens on, a users file)
//! gets the birth registration catalog and a dossier over the API; then in the browser the
//! counter's servant logs in, filters the queue, opens the task, claims it, submits the form
//! empty (sees the field's error), then filled (completes it), and the justice officer — the
//! next step's group — logs in and finds the task in their queue. A PNG screenshot of each
//! step goes to `$CARGO_TARGET_TMPDIR/browser-screenshots/`.
//!
//! Without `/usr/bin/chromium` or `/usr/bin/chromedriver` the test prints
//! `SKIPPED browser_<name>: chromium/chromedriver not installed` and passes. ChromeDriver is
//! started on a free port and killed (and reaped) on drop.

mod common;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::web::{setup, PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use motcua_tests::{Backend, TestDb};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running ChromeDriver, killed and reaped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(log: &Path) -> Driver {
        let port = common::free_port()
            .rsplit(':')
            .next()
            .expect("a port")
            .to_owned();
        // Its own process group, so that the browsers it starts die with it on drop even when
        // a failed assertion skipped closing the session.
        let child = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("a log file"))
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            // Waiting for another process to bind its port.
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshots().join(name), png).expect("the screenshot is saved");
}

async fn browser(profile: &Path, driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--window-size=1280,1100", "--lang=vi",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

async fn wait_for_path(client: &Client, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.expect("the URL");
        if url.path().starts_with(prefix) {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, not {prefix}");
        // Waiting for the browser to navigate.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page's HTML contains `text` (a form's answer is a new page), and returns it.
async fn wait_for_text(client: &Client, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = client.source().await.expect("the page");
        if page.contains(text) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {text:?}:\n{page}"
        );
        // Waiting for the browser to load the answer.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(client: &Client, base: &str, user: &str) {
    client
        .goto(&format!("{base}/web/login"))
        .await
        .expect("the login page");
    let field = client.find(Locator::Id("user")).await.expect("#user");
    field.send_keys(user).await.expect("typed");
    let password = client
        .find(Locator::Id("password"))
        .await
        .expect("#password");
    password.send_keys(PASSWORD).await.expect("typed");
    client
        .find(Locator::Id("dang-nhap"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("clicked");
    wait_for_path(client, "/web/tasks").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_servant_completes_a_task() {
    if !installed() {
        println!("SKIPPED browser_servant_completes_a_task: chromium/chromedriver not installed");
        return;
    }
    let Some(db) = TestDb::new(Backend::Sqlite, "browser_servant").await else {
        return;
    };
    let s = setup(db.url()).await;
    let base = s.server.base.clone();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let driver = Driver::start(&dir.path().join("chromedriver.log"));
    let profile = dir.path().join("profile");
    let client = browser(&profile, &driver).await;

    // The login page, then the counter's servant logs in.
    client
        .goto(&format!("{base}/web/login"))
        .await
        .expect("goto");
    shot(&client, "01-login.png").await;
    login(&client, &base, "lan").await;

    // Filter the queue by procedure and text.
    client
        .find(Locator::Id("procedure"))
        .await
        .expect("#procedure")
        .select_by_value("dang-ky-khai-sinh")
        .await
        .expect("selected");
    client
        .find(Locator::Id("q"))
        .await
        .expect("#q")
        .send_keys("Tiếp nhận")
        .await
        .expect("typed");
    client
        .find(Locator::Id("loc"))
        .await
        .expect("#loc")
        .click()
        .await
        .expect("clicked");
    wait_for_text(&client, "value=\"Tiếp nhận\"").await;
    let queue = wait_for_text(&client, &s.code).await;
    assert!(queue.contains(&s.task), "the task is in the queue");
    assert!(client
        .current_url()
        .await
        .expect("URL")
        .query()
        .unwrap_or_default()
        .contains("procedure=dang-ky-khai-sinh"));
    shot(&client, "02-queue.png").await;

    // Open the task and claim it.
    client
        .find(Locator::Css(&format!("a[href='/web/tasks/{}']", s.task)))
        .await
        .expect("the task's link")
        .click()
        .await
        .expect("clicked");
    wait_for_text(&client, "giay-chung-sinh.pdf").await;
    shot(&client, "03-task.png").await;
    client
        .find(Locator::Id("nhan-viec"))
        .await
        .expect("#nhan-viec")
        .click()
        .await
        .expect("clicked");
    wait_for_text(&client, "id=\"nguoi-nhan\">lan<").await;

    // Submitted empty: the required checklist's error, next to the field.
    client
        .find(Locator::Css("form.motcua-form button[type=submit]"))
        .await
        .expect("the form's button")
        .click()
        .await
        .expect("clicked");
    let refused = wait_for_text(&client, "lỗi cần sửa").await;
    assert!(
        refused.contains("aria-invalid=\"true\""),
        "the field is marked"
    );
    shot(&client, "04-invalid.png").await;

    // Filled: completed, back to the queue with the message.
    for value in ["to-khai", "giay-chung-sinh"] {
        client
            .find(Locator::Css(&format!(
                "input[name='receivedDocuments'][value='{value}']"
            )))
            .await
            .expect("a checkbox")
            .click()
            .await
            .expect("checked");
    }
    client
        .find(Locator::Css("form.motcua-form button[type=submit]"))
        .await
        .expect("the form's button")
        .click()
        .await
        .expect("clicked");
    wait_for_text(&client, "Đã hoàn thành công việc").await;
    shot(&client, "05-completed.png").await;

    // Log out; the justice officer logs in and finds the next step in their queue.
    client
        .find(Locator::Css("header form button.link"))
        .await
        .expect("the logout button")
        .click()
        .await
        .expect("clicked");
    wait_for_text(&client, "id=\"dang-nhap\"").await;
    login(&client, &base, "binh").await;
    let next = wait_for_text(&client, "Thẩm định hồ sơ").await;
    assert!(next.contains(&s.code));
    shot(&client, "06-next-queue.png").await;

    // The process view and the citizen's page, for the record.
    client
        .goto(&format!("{base}/web/processes/dang-ky-khai-sinh"))
        .await
        .expect("goto");
    shot(&client, "07-process.png").await;
    client
        .goto(&format!("{base}/tra-cuu?ma={}", s.code))
        .await
        .expect("goto");
    shot(&client, "08-tracking.png").await;

    client.close().await.expect("the session ends");
    drop(driver);
}
