//! The web console: sign-in, sessions, CSRF, and its first pages, over HTTP as a browser
//! would use them (cookies carried by hand, so their flags can be checked).

use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode, header};
use serde_json::json;

use crate::common::{BOOTSTRAP_SECRET, TestApp, spawn_app};

/// A browser: no automatic redirects, the session cookie kept by hand.
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser {
            app,
            http,
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> Response {
        let mut request = self.http.get(self.app.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut request = self.http.post(self.app.url(path)).form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Signs in and keeps the session cookie; returns its `Set-Cookie` header.
    async fn sign_in(&mut self, client_id: &str, secret: &str) -> String {
        let response = self
            .post(
                "/console/sign-in",
                &[("client_id", client_id), ("client_secret", secret)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/console/");
        let set_cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
        set_cookie
    }

    /// The CSRF token of the signed-in page at `path`.
    async fn csrf_token(&self, path: &str) -> String {
        let page = self.get(path).await.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let start = page.find(marker).expect("a form with the CSRF token") + marker.len();
        page[start..].split('"').next().unwrap().to_owned()
    }
}

async fn session_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM console_sessions")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

/// A client with just `scopes`, and its secret.
async fn client_with(app: &TestApp, client_id: &str, scopes: &[&str]) -> (String, String) {
    let admin = app.admin_token().await;
    let created = app
        .create_client(
            &admin,
            &json!({"name": client_id, "clientId": client_id, "scopes": scopes}),
        )
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn root_redirects_and_the_sign_in_page_is_self_contained() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let root = browser.get("/").await;
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()[header::LOCATION], "/console/");

    let page = browser.get("/console/").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"client_id\">"));
    assert!(html.contains("<label for=\"client_secret\">"));
    assert!(html.contains("id=\"client_id\"") && html.contains("id=\"client_secret\""));
    assert!(html.contains("href=\"#main\""), "a skip link");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));

    let css = browser.get("/console/assets/console.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(!css.text().await.unwrap().contains("url("));
    assert_eq!(
        browser.get("/console/assets/console.js").await.status(),
        200
    );
}

#[tokio::test]
async fn a_wrong_secret_answers_401_with_the_form_and_another_origin_is_refused() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let response = browser
        .post(
            "/console/sign-in",
            &[("client_id", "admin"), ("client_secret", "not-the-secret")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("<form class=\"stacked\" method=\"post\" action=\"/console/sign-in\">"));
    assert!(html.contains("Unknown client or wrong secret."));
    assert!(html.contains("value=\"admin\""), "the client id is kept");

    let cross_site = browser
        .http
        .post(app.url("/console/sign-in"))
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("client_id", "admin"), ("client_secret", BOOTSTRAP_SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(session_count(&app).await, 0);
}

#[tokio::test]
async fn an_admin_signs_in_and_sees_the_environments_made_through_the_api() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .post_json(
            "/admin/v1/environments",
            &admin,
            &json!({
                "name": "console-env",
                "displayName": "Console",
                "provider": "aws",
                "config": {
                    "region": "eu-west-1",
                    "stage": "live",
                    "endpointUrl": "http://127.0.0.1:4566",
                    "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
                }
            }),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    let mut browser = Browser::new(&app);
    let set_cookie = browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");

    let home = browser.get("/console/").await.text().await.unwrap();
    assert!(home.contains("Signed in as <strong>admin</strong>"));
    assert!(home.contains("/console/admin/environments"));

    let page = browser.get("/console/admin/environments").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for cell in ["console-env", "eu-west-1", "live", "aws"] {
        assert!(html.contains(&format!("<td>{cell}</td>")), "{cell}");
    }
}

#[tokio::test]
async fn a_publisher_session_lists_apis_and_cannot_open_admin_pages() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    for name in ["Orders", "Payments"] {
        app.create_api(&publisher, &crate::common::publisher::api_body(name))
            .await;
    }
    let (_, secret) = client_with(&app, "pub-bot", &["publisher"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("pub-bot", &secret).await;

    let refused = browser.get("/console/admin/environments").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    assert!(html.contains("needs the `admin` scope"), "{html}");
    assert!(html.contains("Signed in as <strong>pub-bot</strong>"));

    let all = browser
        .get("/console/publisher/apis")
        .await
        .text()
        .await
        .unwrap();
    assert!(all.contains("<td>Orders</td>") && all.contains("<td>Payments</td>"));
    let found = browser
        .get("/console/publisher/apis?name=pay")
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("<td>Payments</td>") && !found.contains("<td>Orders</td>"));
    assert!(found.contains("<label for=\"name\">"));
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_removes_the_session() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    let token = browser.csrf_token("/console/").await;

    for form in [vec![], vec![("csrf_token", "forged")]] {
        let refused = browser.post("/console/sign-out", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(session_count(&app).await, 1);
    assert_eq!(
        browser.get("/console/admin/environments").await.status(),
        200
    );

    let signed_out = browser
        .post("/console/sign-out", &[("csrf_token", &token)])
        .await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert!(
        signed_out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(session_count(&app).await, 0);
    let after = browser.get("/console/admin/environments").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_expired_session_returns_to_sign_in() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    sqlx::query("UPDATE console_sessions SET expires_at = now() - interval '1 second'")
        .execute(&app.state.db)
        .await
        .unwrap();
    let response = browser.get("/console/admin/environments").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/console/?expired=1");
    assert_eq!(session_count(&app).await, 0);

    browser.cookie = None;
    let page = browser
        .get("/console/?expired=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your session has ended"));
}

#[tokio::test]
async fn rotating_the_clients_secret_ends_its_sessions() {
    let app = spawn_app().await;
    let (record, secret) = client_with(&app, "ops", &["admin"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ops", &secret).await;
    assert_eq!(
        browser.get("/console/admin/environments").await.status(),
        200
    );

    app.rotate_secret(&app.admin_token().await, &record).await;
    let response = browser.get("/console/admin/environments").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/console/?expired=1");
}

const ENV_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

/// The create form's fields for an access-key environment at `endpoint`.
fn environment_form<'a>(
    name: &'a str,
    endpoint: &'a str,
    token: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", token),
        ("name", name),
        ("display_name", "Made in the console"),
        ("description", "from the form"),
        ("region", "us-east-1"),
        ("stage", "prod"),
        ("endpoint_url", endpoint),
        ("invoke_url_template", ""),
        ("credential_type", "accessKey"),
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        ("secret_access_key", ENV_SECRET),
        ("session_token", ""),
        ("role_arn", ""),
        ("external_id", ""),
        ("session_name", ""),
    ]
}

/// The value of the hidden `version` field of the page at `path`.
async fn form_version(browser: &Browser<'_>, path: &str) -> String {
    let page = browser.get(path).await.text().await.unwrap();
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("a version field") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn environment_json(app: &TestApp, name: &str) -> reqwest::Response {
    app.get(
        &format!("/admin/v1/environments/{name}"),
        &app.admin_token().await,
    )
    .await
}

#[tokio::test]
async fn an_admin_creates_an_environment_through_the_form() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    let list = browser
        .get("/console/admin/environments")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("href=\"/console/admin/environments/new\""));

    let page = browser.get("/console/admin/environments/new").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for id in [
        "name",
        "region",
        "stage",
        "access_key_id",
        "secret_access_key",
        "role_arn",
    ] {
        assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
    }
    assert!(html.contains("id=\"secret_access_key\" name=\"secret_access_key\" type=\"password\""));
    assert!(!html.contains("<script>"), "no inline script");

    let token = browser.csrf_token("/console/admin/environments/new").await;
    let created = browser
        .post(
            "/console/admin/environments/new",
            &environment_form("form-env", "http://127.0.0.1:4566", &token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        created.headers()[header::LOCATION],
        "/console/admin/environments?created=form-env"
    );
    let list = browser
        .get("/console/admin/environments?created=form-env")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Environment form-env was created."));
    assert!(list.contains("<td>form-env</td>"));

    let env: serde_json::Value = environment_json(&app, "form-env")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(env["displayName"], "Made in the console");
    assert_eq!(env["config"]["region"], "us-east-1");
    assert_eq!(env["config"]["credentials"]["secretAccessKeySet"], true);
    assert_eq!(env["createdBy"], "admin");
}

#[tokio::test]
async fn a_bad_field_is_shown_next_to_it_and_nothing_is_created_without_the_csrf_token() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    let token = browser.csrf_token("/console/admin/environments/new").await;

    let mut form = environment_form("bad-env", "http://127.0.0.1:4566", &token);
    form.retain(|(k, _)| *k != "region");
    form.push(("region", "moon-1"));
    let refused = browser.post("/console/admin/environments/new", &form).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    let input = html.find("id=\"region\"").expect("the region field");
    let error = html
        .find("<p class=\"error\" id=\"region-error\">")
        .expect("the region's error");
    assert!(error > input && html[error..].contains("is not an AWS region code"));
    assert!(html.contains("aria-describedby=\"region-error\""));
    assert!(html.contains("value=\"bad-env\""), "typed values are kept");
    assert!(html.contains("value=\"moon-1\""));
    assert!(!html.contains(ENV_SECRET), "the secret is not sent back");
    assert_eq!(environment_json(&app, "bad-env").await.status(), 404);

    // Checked first against an endpoint nothing answers: 422, the failure said, nothing stored.
    let mut checked = environment_form("unchecked-env", "http://127.0.0.1:9", &token);
    checked.push(("check_first", "on"));
    let failed = browser
        .post("/console/admin/environments/new", &checked)
        .await;
    assert_eq!(failed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = failed.text().await.unwrap();
    assert!(html.contains("the live check failed"), "{html}");
    assert!(html.contains("name=\"check_first\" value=\"on\" checked"));
    assert_eq!(environment_json(&app, "unchecked-env").await.status(), 404);

    let mut forged = environment_form("forged-env", "http://127.0.0.1:4566", "");
    forged.remove(0);
    let forbidden = browser
        .post("/console/admin/environments/new", &forged)
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(environment_json(&app, "forged-env").await.status(), 404);
}

#[tokio::test]
async fn an_edit_keeps_an_empty_secret_and_a_stale_version_is_refused() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    let token = browser.csrf_token("/console/admin/environments/new").await;
    let created = browser
        .post(
            "/console/admin/environments/new",
            &environment_form("edit-env", "http://127.0.0.1:4566", &token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);

    let edit_path = "/console/admin/environments/edit-env/edit";
    let page = browser.get(edit_path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"Made in the console\""), "prefilled");
    assert!(html.contains("Set — leave empty to keep the stored one."));
    assert!(!html.contains(ENV_SECRET));
    let opened = form_version(&browser, edit_path).await;

    // Edited meanwhile through the API: the form's version is stale.
    let admin = app.admin_token().await;
    let patched = app
        .merge_patch(
            "/admin/v1/environments/edit-env",
            &admin,
            &json!({"description": "changed by the API"}),
            None,
        )
        .await;
    assert_eq!(patched.status(), 200);
    let mut stale = environment_form("edit-env", "http://127.0.0.1:4566", &token);
    stale.retain(|(k, _)| !["secret_access_key", "description"].contains(k));
    stale.push(("description", "from a stale form"));
    stale.push(("version", &opened));
    let refused = browser.post(edit_path, &stale).await;
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("changed by someone else")
    );
    let env: serde_json::Value = environment_json(&app, "edit-env")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(env["description"], "changed by the API");

    let current = form_version(&browser, edit_path).await;
    let mut fresh = environment_form("edit-env", "http://127.0.0.1:4566", &token);
    fresh.retain(|(k, _)| !["secret_access_key", "access_key_id", "description"].contains(k));
    fresh.push(("description", "edited in the console"));
    fresh.push(("secret_access_key", ""));
    fresh.push(("access_key_id", ""));
    fresh.push(("version", &current));
    let saved = browser.post(edit_path, &fresh).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let env: serde_json::Value = environment_json(&app, "edit-env")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(env["description"], "edited in the console");
    assert_eq!(env["config"]["credentials"]["secretAccessKeySet"], true);
    assert_eq!(
        env["config"]["credentials"]["accessKeyIdMasked"],
        "AKIA…MPLE"
    );

    // A session token given, then removed by the checkbox (an empty field alone keeps it).
    for (token_field, remove, expected) in [("a-session-token", false, true), ("", true, false)] {
        let version = form_version(&browser, edit_path).await;
        let mut form = environment_form("edit-env", "http://127.0.0.1:4566", &token);
        form.retain(|(k, _)| !["secret_access_key", "session_token"].contains(k));
        form.push(("session_token", token_field));
        form.push(("version", &version));
        if remove {
            let html = browser.get(edit_path).await.text().await.unwrap();
            assert!(html.contains("name=\"remove_session_token\""));
            form.push(("remove_session_token", "on"));
        }
        assert_eq!(
            browser.post(edit_path, &form).await.status(),
            StatusCode::SEE_OTHER
        );
        let env: serde_json::Value = environment_json(&app, "edit-env")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(env["config"]["credentials"]["sessionTokenSet"], expected);
        assert_eq!(env["config"]["credentials"]["secretAccessKeySet"], true);
    }
}

#[tokio::test]
async fn the_live_check_page_shows_each_result_against_moto() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("admin", BOOTSTRAP_SECRET).await;
    let token = browser.csrf_token("/console/admin/environments/new").await;
    let moto = crate::common::moto_url();
    let created = browser
        .post(
            "/console/admin/environments/new",
            &environment_form("checked-env", &moto, &token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let list = browser
        .get("/console/admin/environments")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("action=\"/console/admin/environments/checked-env/check\""));
    assert!(list.contains("href=\"/console/admin/environments/checked-env/edit\""));

    let without_token = browser
        .post("/console/admin/environments/checked-env/check", &[])
        .await;
    assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
    let page = browser
        .post(
            "/console/admin/environments/checked-env/check",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Every check passed."), "{html}");
    for name in [
        "sts:GetCallerIdentity",
        "apigateway:GET /restapis",
        "lambda:GetFunction",
        "iam:GetRole",
    ] {
        assert!(
            html.contains(&format!("<td>{name}</td><td>ok</td>")),
            "{name}"
        );
    }
    assert!(html.contains("authenticated as"));
}

#[tokio::test]
async fn a_publisher_session_cannot_open_or_post_the_environment_forms() {
    let app = spawn_app().await;
    let (_, secret) = client_with(&app, "pub-forms", &["publisher"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("pub-forms", &secret).await;
    let token = browser.csrf_token("/console/").await;
    for path in [
        "/console/admin/environments/new",
        "/console/admin/environments/any/edit",
    ] {
        assert_eq!(
            browser.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let created = browser
        .post(
            "/console/admin/environments/new",
            &environment_form("pub-env", "http://127.0.0.1:4566", &token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::FORBIDDEN);
    assert_eq!(environment_json(&app, "pub-env").await.status(), 404);
    let checked = browser
        .post(
            "/console/admin/environments/pub-env/check",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(checked.status(), StatusCode::FORBIDDEN);
}
