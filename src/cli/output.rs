//! What the commands print on stdout: aligned tables for people, or the server's JSON as
//! is (`-o json`) or as YAML (`-o yaml`) for scripts. Progress and errors go to stderr.

use std::io::Write;

use serde_json::Value;

use super::error::CliError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// A column: its header and the JSON pointer of its value in an item.
pub type Column = (&'static str, &'static str);

/// Prints `value` in `format`; `table` renders it for people.
pub fn print(
    format: Format,
    value: &Value,
    table: impl FnOnce(&Value) -> String,
) -> Result<(), CliError> {
    let text = match format {
        Format::Table => table(value),
        Format::Json => serde_json::to_string_pretty(value).expect("JSON serialises"),
        Format::Yaml => {
            serde_norway::to_string(value).map_err(|e| CliError::local("cannot write YAML", e))?
        }
    };
    emit(&text)
}

/// Items as a table of `columns`, or as one JSON/YAML array.
pub fn print_list(format: Format, items: Vec<Value>, columns: &[Column]) -> Result<(), CliError> {
    print(format, &Value::Array(items), |items| {
        table(
            items.as_array().map(Vec::as_slice).unwrap_or_default(),
            columns,
        )
    })
}

/// One item as a one-row table of `columns`, or as is.
pub fn print_row(format: Format, item: &Value, columns: &[Column]) -> Result<(), CliError> {
    print(format, item, |item| {
        table(std::slice::from_ref(item), columns)
    })
}

/// One object as `label: value` lines (people), or as is.
pub fn print_details(format: Format, value: &Value, fields: &[Column]) -> Result<(), CliError> {
    print(format, value, |value| details(value, fields))
}

/// Writes to stdout; a reader that stopped reading (`fedgate apis list | head -1`) is not
/// an error.
pub fn emit(text: &str) -> Result<(), CliError> {
    let text = text.trim_end_matches('\n');
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| CliError::local("cannot write to stdout", e)),
    }
}

/// A cell: strings as they are, `-` for nothing, lists joined with commas.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(text)) if text.is_empty() => "-".to_owned(),
        Some(Value::String(text)) => text.replace('\n', " "),
        Some(Value::Array(items)) if items.is_empty() => "-".to_owned(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| cell(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Columns padded to their widest cell; the last one is not padded.
pub fn table(items: &[Value], columns: &[Column]) -> String {
    let rows: Vec<Vec<String>> =
        std::iter::once(columns.iter().map(|(h, _)| h.to_string()).collect())
            .chain(items.iter().map(|item| {
                columns
                    .iter()
                    .map(|(_, pointer)| cell(item.pointer(pointer)))
                    .collect()
            }))
            .collect();
    aligned(&rows)
}

/// `label: value` lines, aligned.
pub fn details(value: &Value, fields: &[Column]) -> String {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|(label, pointer)| vec![format!("{label}:"), cell(value.pointer(pointer))])
        .collect();
    aligned(&rows)
}

fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|text| text.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, text) in row.iter().enumerate() {
            if i == last {
                out.push_str(text);
            } else {
                out.push_str(text);
                out.push_str(&" ".repeat(widths[i] - text.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_their_columns() {
        let items = [
            json!({"name": "Pets", "version": "1.0.0", "tags": ["a", "b"]}),
            json!({"name": "Orders service", "version": null}),
        ];
        let text = table(
            &items,
            &[
                ("NAME", "/name"),
                ("VERSION", "/version"),
                ("TAGS", "/tags"),
            ],
        );
        assert_eq!(
            text,
            "NAME            VERSION  TAGS\n\
             Pets            1.0.0    a,b\n\
             Orders service  -        -\n"
        );
    }
}
