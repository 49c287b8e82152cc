//! The HTML page around the reports' tables and SVG charts: one self-contained file, inline CSS, no
//! scripts, no external assets.

use super::svg::escape;

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:24px;color:#111827;max-width:920px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}code{background:#f3f4f6;padding:1px 4px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #e5e7eb;padding:3px 8px;\
text-align:left;font-size:13px}th{background:#f9fafb}.status{font-weight:bold}\
.passed{color:#15803d}.failed{color:#b91c1c}svg.chart{display:block;margin:8px 0;\
background:#fff;border:1px solid #e5e7eb}.chart-title{font-size:13px;font-weight:600}\
.tick,.legend,.axis{font-size:10px;fill:#374151}";

/// A complete HTML page.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

/// A table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<table><tr>");
    for cell in header {
        html.push_str(&format!("<th>{}</th>", escape(cell)));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}
