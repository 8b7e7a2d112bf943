//! `GET /docs`: the API reference as one server-rendered HTML page, built from the same
//! OpenAPI document as `/openapi.json`. No script, font or style from another host (fedgate
//! runs in closed networks): plain HTML with a little inline CSS.

use std::fmt::Write;

use serde_json::Value;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;\
padding:0 1rem;color:#222}code{font:13px ui-monospace,monospace}h2{border-bottom:1px solid #ccc;\
margin-top:2.5rem}details{margin:.3rem 0;border:1px solid #ddd;border-radius:4px;padding:.3rem .6rem}\
summary{cursor:pointer}.m{display:inline-block;min-width:4.5rem;font-weight:bold}\
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;\
text-align:left;vertical-align:top}p.d{white-space:pre-line}";

const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "head"];

/// The whole page.
pub fn render(spec: &Value) -> String {
    let title = text(&spec["info"]["title"]);
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} API</title>\
         <style>{STYLE}</style></head><body><h1>{title} API {version}</h1><p class=\"d\">{description}</p>\
         <p>The machine-readable document: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {openapi}).</p>",
        version = text(&spec["info"]["version"]),
        description = text(&spec["info"]["description"]),
        openapi = text(&spec["openapi"]),
    );
    let tags: Vec<&Value> = spec["tags"]
        .as_array()
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    html.push_str("<nav><ul>");
    for tag in &tags {
        let name = text(&tag["name"]);
        let _ = write!(
            html,
            "<li><a href=\"#tag-{name}\">{name}</a> — {}</li>",
            text(&tag["description"])
        );
    }
    html.push_str("<li><a href=\"#schemas\">schemas</a></li></ul></nav>");
    for tag in &tags {
        let name = tag["name"].as_str().unwrap_or_default();
        let _ = write!(html, "<h2 id=\"tag-{0}\">{0}</h2>", escape(name));
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                let tagged = operation["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t == name));
                if tagged {
                    operation_html(&mut html, method, path, operation);
                }
            }
        }
    }
    html.push_str("<h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in spec["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schema_html(&mut html, name, schema);
    }
    html.push_str("</body></html>");
    html
}

fn operation_html(html: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        html,
        "<details id=\"{id}\"><summary><span class=\"m\">{method}</span><code>{path}</code> — {summary}</summary>\
         <p class=\"d\">{description}</p>",
        id = text(&operation["operationId"]),
        method = method.to_uppercase(),
        path = escape(path),
        summary = text(&operation["summary"]),
        description = text(&operation["description"]),
    );
    if let Some(parameters) = operation["parameters"].as_array().filter(|p| !p.is_empty()) {
        html.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>",
        );
        for parameter in parameters {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&parameter["name"]),
                text(&parameter["in"]),
                if parameter["required"] == true {
                    "yes"
                } else {
                    "no"
                },
                text(&parameter["description"]),
            );
        }
        html.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        html.push_str("<p>Body: ");
        for (media_type, body) in content {
            let _ = write!(
                html,
                "<code>{}</code> {} ",
                escape(media_type),
                schema_link(&body["schema"])
            );
        }
        html.push_str("</p>");
    }
    html.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let body: Vec<String> = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media_type, c)| {
                format!(
                    "<code>{}</code> {}",
                    escape(media_type),
                    schema_link(&c["schema"])
                )
            })
            .collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(status),
            text(&response["description"]),
            body.join("<br>"),
        );
    }
    html.push_str("</table></details>");
}

fn schema_html(html: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        html,
        "<details id=\"schema-{0}\"><summary><code>{0}</code></summary><p class=\"d\">{1}</p>",
        escape(name),
        text(&schema["description"]),
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        html.push_str("<table><tr><th>field</th><th>type</th><th>description</th></tr>");
        for (field, property) in properties {
            let _ = write!(
                html,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                escape(field),
                if required.contains(&field.as_str()) {
                    " *"
                } else {
                    ""
                },
                schema_link(property),
                text(&property["description"]),
            );
        }
        html.push_str("</table>");
    } else {
        let _ = write!(html, "<p>{}</p>", schema_link(schema));
    }
    html.push_str("</details>");
}

/// A schema in a few words: a link for a reference, else its type.
fn schema_link(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let parts: Vec<String> = parts.iter().map(schema_link).collect();
            return parts.join(" | ");
        }
    }
    match &schema["type"] {
        Value::String(kind) if kind == "array" => {
            format!("array of {}", schema_link(&schema["items"]))
        }
        Value::String(kind) => escape(kind),
        Value::Array(kinds) => escape(
            &kinds
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        _ => "any".into(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(escape).unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_schema_is_on_the_page_escaped() {
        let spec = serde_json::to_value(crate::http::openapi()).unwrap();
        let page = render(&spec);
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(id) = item[method]["operationId"].as_str() {
                    assert!(page.contains(&format!("id=\"{id}\"")), "{method} {path}");
                }
            }
        }
        for name in spec["components"]["schemas"].as_object().unwrap().keys() {
            assert!(page.contains(&format!("id=\"schema-{name}\"")), "{name}");
        }
        // `Authorization: Bearer <token>` in a description stays text.
        assert!(!page.contains("<token>"));
        assert!(!page.contains("<script"));
    }
}
