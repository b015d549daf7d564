//! The web front over real HTTP, without a browser, on both databases: the real `motcua serve`
//! with bearer tokens on (the pages bypass them and check their session cookie) and a users
//! file; login refusal and redirects, the agency scope (another agency's task is the 404
//! page), CSRF, a form refused with its field's error then accepted, the public tracking page
//! without any private field, the process SVG with a shape per flow node, and the IOC's roles.

mod common;

use common::web::{setup, Browser, APPLICANT, CITIZEN, PHONE};
use motcua_tests::{on_both_databases, Backend, TestDb};
use reqwest::StatusCode;

async fn web_pages(backend: Backend) {
    let Some(db) = TestDb::new(backend, "web_pages").await else {
        return;
    };
    let s = setup(db.url()).await;
    let base = s.server.base.clone();

    // No session: the queue redirects to the login page, keeping the target.
    let mut anonymous = Browser::new(&base);
    let page = anonymous.get("/web/tasks?state=open").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/web/login?next=%2Fweb%2Ftasks%3Fstate%3Dopen")
    );
    let login = anonymous.get("/web/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text.contains("<html lang=\"vi\">") && login.text.contains("Mật khẩu"));

    // A wrong password and an unknown user: the same refusal, no cookie.
    for (user, password) in [("lan", "sai"), ("khong-co", "x")] {
        let refused = anonymous
            .post("/web/login", &[("user", user), ("password", password)])
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.set_cookie.is_none());
        assert!(refused
            .text
            .contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    }
    // A forged cookie is no session.
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/web/tasks"))
        .header("cookie", "motcua_web=eyJ1IjoibGFuIn0.AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);

    // The counter's servant sees the task in the queue, filtered by procedure and text.
    let mut lan = Browser::new(&base);
    lan.login("lan").await;
    let queue = lan
        .get("/web/tasks?procedure=dang-ky-khai-sinh&state=open&q=Ti%E1%BA%BFp+nh%E1%BA%ADn")
        .await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text);
    assert!(
        queue.text.contains(&format!("/web/tasks/{}", s.task)),
        "{}",
        queue.text
    );
    assert!(queue.text.contains(&s.code));
    assert!(queue.text.contains("Trong hạn") || queue.text.contains("Sắp đến hạn"));
    let none = lan.get("/web/tasks?q=kh%C3%B4ng+c%C3%B3").await;
    assert!(none.text.contains("Không có công việc nào phù hợp"));

    // Another agency's servant: not in the queue, and the task page is a 404.
    let mut cuong = Browser::new(&base);
    cuong.login("cuong").await;
    let other = cuong.get("/web/tasks").await;
    assert!(!other.text.contains(&s.task));
    let hidden = cuong.get(&format!("/web/tasks/{}", s.task)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.text.contains(APPLICANT));
    let doc = cuong
        .get(&format!("/web/dossiers/{}/documents/to-khai/1", s.code))
        .await;
    assert_eq!(doc.status, StatusCode::NOT_FOUND);

    // The task page: dossier, documents, form; the document's bytes.
    let task = lan.get(&format!("/web/tasks/{}", s.task)).await;
    assert_eq!(task.status, StatusCode::OK);
    assert!(task.text.contains(&s.code) && task.text.contains(APPLICANT));
    assert!(task.text.contains("giay-chung-sinh.pdf"));
    assert!(task.text.contains("name=\"receivedDocuments\""));
    let bytes = lan
        .get(&format!("/web/dossiers/{}/documents/to-khai/1", s.code))
        .await;
    assert_eq!(bytes.status, StatusCode::OK);
    assert_eq!(bytes.text, "%PDF-1.7 to khai\n");
    let csrf = task.csrf();

    // Without the CSRF token: refused. Claim, then an invalid form, then a valid one.
    let path = format!("/web/tasks/{}/complete", s.task);
    let no_csrf = lan.post(&path, &[("receivedDocuments", "to-khai")]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let claimed = lan
        .post(&format!("/web/tasks/{}/claim", s.task), &[("_csrf", &csrf)])
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    let long_note = "x".repeat(600);
    let invalid = lan
        .post(&path, &[("_csrf", &csrf), ("receiptNote", &long_note)])
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.text
    );
    assert!(
        invalid.text.contains("aria-invalid=\"true\""),
        "{}",
        invalid.text
    );
    assert!(invalid.text.contains("lỗi cần sửa"));
    assert!(invalid.text.contains(&long_note), "the values are kept");
    let done = lan
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("receivedDocuments", "to-khai"),
                ("receivedDocuments", "giay-chung-sinh"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert!(done
        .location
        .unwrap_or_default()
        .starts_with("/web/tasks?done="));

    // The next step is the justice officer's.
    let mut binh = Browser::new(&base);
    binh.login("binh").await;
    let next = binh.get("/web/tasks").await;
    assert!(next.text.contains("Thẩm định hồ sơ"), "{}", next.text);
    assert!(next.text.contains(&s.code));

    // The citizen's page: public fields only.
    let public = anonymous.get(&format!("/tra-cuu?ma={}", s.code)).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.text.contains(&s.code));
    assert!(public.text.contains("Đăng ký khai sinh"));
    assert!(public.text.contains("Ngày hẹn trả kết quả"));
    for private in [
        CITIZEN,
        PHONE,
        APPLICANT,
        "giay-chung-sinh",
        "to-khai.pdf",
        "Phú Thượng, Huế",
    ] {
        assert!(
            !public.text.contains(private),
            "{private} leaks on the public page"
        );
    }
    let missing = anonymous.get("/tra-cuu?ma=KHONG-CO").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("Không tìm thấy hồ sơ"));

    // The process view: a shape per flow node, the waiting task counted at its step.
    let process = binh.get("/web/processes/dang-ky-khai-sinh").await;
    assert_eq!(process.status, StatusCode::OK);
    assert!(process.text.contains("<svg"));
    for node in [
        "nop-ho-so",
        "tiep-nhan",
        "tham-dinh",
        "ho-so-day-du",
        "yeu-cau-bo-sung",
        "phe-duyet",
        "tra-ket-qua",
    ] {
        assert!(
            process.text.contains(&format!("data-element=\"{node}\"")),
            "{node} is not drawn"
        );
    }
    assert!(
        process.text.contains("1 đang chờ"),
        "the waiting task is counted"
    );
    assert!(binh.get("/web/processes/khong-co").await.status == StatusCode::NOT_FOUND);

    // The IOC: not for servants; a leader sees the charts.
    assert_eq!(lan.get("/web/ioc").await.status, StatusCode::FORBIDDEN);
    let mut leader = Browser::new(&base);
    leader.login("lanh-dao").await;
    let ioc = leader.get("/web/ioc").await;
    assert_eq!(ioc.status, StatusCode::OK, "{}", ioc.text);
    assert!(ioc.text.matches("<svg").count() >= 5);
    assert!(ioc.text.contains("Tỷ lệ giải quyết đúng hạn theo cơ quan"));

    // The API still wants its bearer token.
    let api = reqwest::get(format!("{base}/tasks")).await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let _ = s.token;

    // Logging out ends the session.
    let out = lan.post("/web/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.set_cookie.unwrap_or_default().contains("Max-Age=0"));
}

on_both_databases!(web_pages);
