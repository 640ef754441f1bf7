//! The book (`docs/`) against the code, without network: every configuration field the reader
//! accepts has its row in the reference and every row names one it accepts; every refusal, counter
//! and reason is listed as the filter has it; every example configuration passes
//! `jwt-authz check`; the demo session is the one `make demo` prints; every relative link and
//! anchor resolves. How to write pages that pass: the book's design page, "The book".
//!
//! Each failure names the page (and line) and the name to add or remove.

use devstack::demo_commands::{demo_session, session_text};
use devstack::{StackPorts, workspace_root};
use jwt_authz::config::Config;
use jwt_authz::config::fields::{self, Field, Kind, Member, ROOT};
use jwt_authz::error::AuthError;
use jwt_authz::metrics::{Counters, REASONS};
use jwt_authz_cli::check::check;
use jwt_authz_cli::locate::{self, Platform};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

const BOOK: &str = "docs/src";
/// The README stays a front door.
const README_MAX_LINES: usize = 200;

// ---- Reading Markdown ------------------------------------------------------------------

/// A Markdown file of the repository, by its path from the repository's root.
struct Page {
    path: String,
    text: String,
}

impl Page {
    fn in_book(&self) -> bool {
        self.path.starts_with(&format!("{BOOK}/"))
    }

    fn dir(&self) -> PathBuf {
        Path::new(&self.path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Every Markdown file of the repository, the book's pages included (build outputs, tool
/// folders and dot folders left out).
fn markdown_files() -> Vec<Page> {
    fn walk(root: &Path, relative: &Path, pages: &mut Vec<Page>) {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(relative))
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().to_string();
            let path = relative.join(&name);
            let skipped = [
                "target",
                "dist",
                "book",
                "corpus",
                "artifacts",
                "node_modules",
            ];
            if entry.file_type().unwrap().is_dir() {
                if !name.starts_with('.') && !skipped.contains(&name.as_str()) {
                    walk(root, &path, pages);
                }
            } else if name.ends_with(".md") {
                let path = path.to_string_lossy().to_string();
                let text = std::fs::read_to_string(root.join(&path)).unwrap();
                pages.push(Page { path, text });
            }
        }
    }
    let mut pages = Vec::new();
    walk(&workspace_root(), Path::new(""), &mut pages);
    assert!(pages.iter().any(|p| p.path == "README.md"));
    pages
}

fn book_pages() -> Vec<Page> {
    let pages: Vec<Page> = markdown_files().into_iter().filter(Page::in_book).collect();
    assert!(pages.len() > 20, "the book has {} pages", pages.len());
    pages
}

fn page(path: &str) -> Page {
    let text = std::fs::read_to_string(workspace_root().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Page {
        path: path.to_string(),
        text,
    }
}

/// A fenced code block: its info string split into the language and `key=value` attributes.
struct Fence {
    line: usize,
    lang: String,
    attributes: BTreeMap<String, String>,
    /// Words of the info string that are not `key=value`.
    other: Vec<String>,
    body: String,
}

/// The fenced code blocks of `text`, and its other lines (line number, text).
fn split_fences(text: &str) -> (Vec<Fence>, Vec<(usize, &str)>) {
    let mut fences = Vec::new();
    let mut prose = Vec::new();
    // The fence character, its run, its indentation, the block so far.
    let mut open: Option<(char, usize, usize, Fence)> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            Some((c, n, fence_indent, fence)) => {
                let run = trimmed.chars().take_while(|x| x == c).count();
                if run >= *n && trimmed[run..].trim().is_empty() {
                    let (_, _, _, fence) = open.take().unwrap();
                    fences.push(fence);
                } else {
                    // Inside a list item the fence and its body are indented alike.
                    fence.body.push_str(&line[indent.min(*fence_indent)..]);
                    fence.body.push('\n');
                }
            }
            None => {
                let c = trimmed.chars().next().unwrap_or(' ');
                let run = trimmed.chars().take_while(|x| *x == c).count();
                let info = trimmed.get(run..).unwrap_or("").trim();
                if (c == '`' || c == '~') && run >= 3 && !(c == '`' && info.contains('`')) {
                    let mut words = info.split_whitespace();
                    let lang = words.next().unwrap_or("").to_string();
                    let mut attributes = BTreeMap::new();
                    let mut other = Vec::new();
                    for word in words {
                        match word.split_once('=') {
                            Some((k, v)) => {
                                attributes.insert(k.to_string(), v.to_string());
                            }
                            None => other.push(word.to_string()),
                        }
                    }
                    let fence = Fence {
                        line: line_no,
                        lang,
                        attributes,
                        other,
                        body: String::new(),
                    };
                    open = Some((c, run, indent, fence));
                } else {
                    prose.push((line_no, line));
                }
            }
        }
    }
    if let Some((_, _, _, fence)) = open {
        panic!("a code block opened at line {} is never closed", fence.line);
    }
    (fences, prose)
}

/// `text` (prose, fences removed) with every code span blanked out, and the spans' contents.
fn strip_code_spans(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            out.push(chars[i]);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        // The closing run of exactly the same length.
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let r = chars[j..].iter().take_while(|c| **c == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                let content: String = chars[i + run..j].iter().collect();
                let content = content.replace('\n', " ");
                let trimmed = match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                    Some(inner) if !inner.trim().is_empty() => inner.to_string(),
                    _ => content.clone(),
                };
                spans.push(trimmed);
                for c in &chars[i..j + run] {
                    out.push(if *c == '\n' { '\n' } else { ' ' });
                }
                i = j + run;
            }
            None => {
                for _ in 0..run {
                    out.push('`');
                }
                i += run;
            }
        }
    }
    (out, spans)
}

/// The prose of a page (fences removed, code spans blanked) as lines with their numbers.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let (_, prose) = split_fences(text);
    let joined: Vec<&str> = prose.iter().map(|(_, l)| *l).collect();
    let (stripped, _) = strip_code_spans(&joined.join("\n"));
    prose
        .iter()
        .map(|(n, _)| *n)
        .zip(stripped.lines().map(str::to_string))
        .collect()
}

/// The code spans of a page's prose.
fn code_spans(text: &str) -> Vec<String> {
    let (_, prose) = split_fences(text);
    let joined: Vec<&str> = prose.iter().map(|(_, l)| *l).collect();
    strip_code_spans(&joined.join("\n")).1
}

/// The id mdBook (and, for these headings, GitHub) gives a heading.
fn heading_id(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // A link in a heading contributes its text.
    while let Some(start) = rest.find('[') {
        text.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                text.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| *c != '`' && *c != '*')
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a page: its headings' ids, made unique as mdBook and GitHub do.
fn anchors(text: &str) -> BTreeSet<String> {
    let (_, prose) = split_fences(text);
    let mut used = BTreeSet::new();
    for (_, line) in prose {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let heading = line[hashes..].trim().trim_end_matches('#').trim();
        let id = heading_id(heading);
        let mut unique = id.clone();
        let mut n = 1;
        while !used.insert(unique.clone()) {
            unique = format!("{id}-{n}");
            n += 1;
        }
    }
    used
}

/// The link targets of a page's prose, with their line numbers: inline links and images
/// (`[text](target)`) and reference definitions (`[label]: target`).
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            found.push((n, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if let Some(close) = trimmed.strip_prefix('[').and_then(|t| t.find("]:")) {
            let target = trimmed[close + 3..].split_whitespace().next().unwrap_or("");
            found.push((n, target.to_string()));
        }
    }
    found
}

/// The cells of a table row, as GitHub and mdBook split them: on every `|` not escaped as
/// `\|` (code spans included); outer pipes dropped, code-span backticks removed.
fn cells(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '`' => {}
            '|' => {
                cells.push(cell.trim().to_string());
                cell.clear();
            }
            _ => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    if cells.first().is_some_and(String::is_empty) {
        cells.remove(0);
    }
    if cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    cells
}

/// A table right after a marker comment `<!-- KIND ARGUMENT -->`.
struct MarkedTable {
    page: String,
    /// The marker's line.
    line: usize,
    argument: String,
    header: Vec<String>,
    /// Rows with their line numbers.
    rows: Vec<(usize, Vec<String>)>,
}

/// Every table marked `<!-- KIND ... -->` (KIND such as `config:` or `refusals`) in `pages`.
fn marked_tables(pages: &[Page], kind: &str) -> Vec<MarkedTable> {
    let mut tables = Vec::new();
    for page in pages {
        let (_, prose) = split_fences(&page.text);
        let mut lines = prose.iter().peekable();
        while let Some((n, line)) = lines.next() {
            let Some(argument) = line
                .trim()
                .strip_prefix("<!--")
                .and_then(|l| l.strip_suffix("-->"))
                .map(str::trim)
                .and_then(|l| l.strip_prefix(kind))
            else {
                continue;
            };
            let mut table = MarkedTable {
                page: page.path.clone(),
                line: *n,
                argument: argument.trim().to_string(),
                header: Vec::new(),
                rows: Vec::new(),
            };
            let mut separator_seen = false;
            while let Some((m, row)) = lines.next_if(|(_, l)| l.trim_start().starts_with('|')) {
                if table.header.is_empty() {
                    table.header = cells(row);
                } else if !separator_seen {
                    separator_seen = true;
                } else {
                    table.rows.push((*m, cells(row)));
                }
            }
            assert!(
                !table.header.is_empty(),
                "{}:{n}: `{}` must be followed at once by its table",
                page.path,
                line.trim()
            );
            tables.push(table);
        }
    }
    tables
}

/// Fails with every problem found, one per line.
fn report(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s) with {what}:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---- The configuration reference -------------------------------------------------------

/// Whether `field` needs a row of its own: a value, an object without members, or nested
/// requirements (whose members are listed where requirements are). An object with members is
/// documented by its members' rows.
fn needs_row(field: &Field) -> bool {
    field.recursive || field.kind.members().is_empty()
}

/// The full path of `row` in a table of `object`.
fn full_path(object: &str, row: &str) -> String {
    if object == ROOT {
        row.to_string()
    } else {
        format!("{object}.{row}")
    }
}

/// The objects the configuration has, with their members: `(root)`, then every object
/// member's path (`[]` after an array of objects, `.NAME` after named entries).
fn objects(fields: &[Field]) -> BTreeMap<String, &'static [Member]> {
    let mut objects = BTreeMap::new();
    objects.insert(ROOT.to_string(), &fields::CONFIG[..]);
    for field in fields {
        let inner = match field.kind {
            Kind::Value => continue,
            Kind::Object(members) => (field.path.clone(), members),
            Kind::Objects(members) => (format!("{}[]", field.path), members),
            Kind::Named(members) => (format!("{}.NAME", field.path), members),
        };
        objects.insert(inner.0, inner.1);
    }
    objects
}

#[test]
fn every_configuration_field_has_one_row_on_its_reference_page() {
    let fields = fields::all();
    let paths: BTreeSet<&str> = fields.iter().map(|f| f.path.as_str()).collect();
    let objects = objects(&fields);
    let tables = marked_tables(&book_pages(), "config:");
    let mut problems = Vec::new();
    let mut documented: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pages_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for table in &tables {
        let at = format!("{}:{}", table.page, table.line);
        let object = table.argument.as_str();
        if !objects.contains_key(object) {
            problems.push(format!(
                "{at}: `<!-- config: {object} -->`: the configuration has no object `{object}`; objects are {}",
                objects.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        pages_of.entry(object).or_default().insert(&table.page);
        if table.header.first().map(String::as_str) != Some("field") {
            problems.push(format!(
                "{at}: the table of `{object}` must have `field` as its first column, not {:?}",
                table.header.first()
            ));
            continue;
        }
        for (line, row) in &table.rows {
            let name = row.first().cloned().unwrap_or_default();
            let full = full_path(object, &name);
            if !paths.contains(full.as_str()) {
                problems.push(format!(
                    "{}:{line}: row `{name}` of `{object}`: the configuration reader refuses `{full}` (no such field in src/config/fields.rs)",
                    table.page
                ));
                continue;
            }
            documented
                .entry(full)
                .or_default()
                .push(format!("{}:{line}", table.page));
        }
    }
    for field in &fields {
        match documented.get(&field.path) {
            None if needs_row(field) => {
                let pages: Vec<&str> = pages_of
                    .get(field.object.as_str())
                    .map(|p| p.iter().copied().collect())
                    .unwrap_or_default();
                let where_ = if pages.is_empty() {
                    format!(
                        "no page has a table of `{}` yet: add `<!-- config: {} -->` and a table with a `field` column to the reference page of its feature (docs/src/reference/)",
                        field.object, field.object
                    )
                } else {
                    format!(
                        "add a row `{}` to a table of `{}` on {}",
                        field
                            .path
                            .strip_prefix(&format!("{}.", field.object))
                            .unwrap_or(&field.path),
                        field.object,
                        pages.join(" or ")
                    )
                };
                problems.push(format!(
                    "`{}` is accepted by the configuration reader but documented nowhere: {where_}",
                    field.path
                ));
            }
            Some(places) if places.len() > 1 => problems.push(format!(
                "`{}` has {} rows ({}): keep one, and link to it from elsewhere",
                field.path,
                places.len(),
                places.join(", ")
            )),
            _ => {}
        }
    }
    report("the configuration reference", problems);
}

/// The member names of `value` (an object of `members`) the reader does not accept.
fn unknown_members(value: &Value, members: &'static [Member], at: &str, out: &mut Vec<String>) {
    let Value::Object(map) = value else {
        out.push(format!("{at}: not an object"));
        return;
    };
    for (name, inner) in map {
        let path = full_path(at, name);
        let Some(member) = members.iter().find(|m| m.name == name) else {
            out.push(format!("`{path}`"));
            continue;
        };
        match (member.kind, inner) {
            (Kind::Object(m), Value::Object(_)) => unknown_members(inner, m, &path, out),
            (Kind::Objects(m), Value::Array(items)) => {
                for item in items {
                    unknown_members(item, m, &format!("{path}[]"), out);
                }
            }
            (Kind::Named(m), Value::Object(entries)) => {
                for entry in entries.values() {
                    unknown_members(entry, m, &format!("{path}.NAME"), out);
                }
            }
            _ => {}
        }
    }
}

/// Whether a YAML block holds a jwt-authz configuration: in an Envoy bootstrap or a
/// Kubernetes resource, or on its own (a mapping with `rules`), rather than being a piece of
/// Envoy or Prometheus configuration.
fn holds_configuration(at: &str, yaml: &str) -> bool {
    let Ok(inventory) = locate::inventory(at, yaml) else {
        return false;
    };
    inventory.found.iter().any(|found| {
        found.platform != Platform::Bare
            || found
                .config
                .as_ref()
                .ok()
                .and_then(|json| serde_json::from_slice::<Value>(json).ok())
                .is_some_and(|config| config.get("rules").is_some())
    })
}

#[test]
fn every_example_in_the_book_passes_check_and_fragments_name_known_fields() {
    let objects = objects(&fields::all());
    let mut problems = Vec::new();
    let mut complete = 0;
    for page in markdown_files() {
        let (fences, _) = split_fences(&page.text);
        for fence in fences {
            let at = format!("{}:{}", page.path, fence.line);
            for key in fence.attributes.keys() {
                if !["fragment", "check", "session"].contains(&key.as_str()) {
                    problems.push(format!(
                        "{at}: unknown code block attribute `{key}=` (known: fragment, check, session)"
                    ));
                }
            }
            if !fence.other.is_empty() {
                problems.push(format!(
                    "{at}: code block info string words {:?}: write attributes as key=value",
                    fence.other
                ));
            }
            match (fence.lang.as_str(), fence.attributes.get("fragment")) {
                ("json", Some(object)) => {
                    let Some(members) = objects.get(object.as_str()) else {
                        problems.push(format!(
                            "{at}: `fragment={object}`: the configuration has no object `{object}`"
                        ));
                        continue;
                    };
                    match serde_json::from_str::<Value>(&fence.body) {
                        Ok(value) => {
                            let mut unknown = Vec::new();
                            unknown_members(&value, members, object, &mut unknown);
                            if !unknown.is_empty() {
                                problems.push(format!(
                                    "{at}: the fragment names what the configuration reader refuses: {}",
                                    unknown.join(", ")
                                ));
                            }
                        }
                        Err(e) => problems.push(format!("{at}: the fragment is not JSON: {e}")),
                    }
                }
                ("json", None) => {
                    complete += 1;
                    let result = check(&[(at.clone(), fence.body.clone())]);
                    if !result.ok || result.warnings > 0 || result.configurations == 0 {
                        problems.push(format!(
                            "{at}: a complete configuration must pass `jwt-authz check` without a warning (or mark it `json fragment=OBJECT`):\n{}",
                            result.text
                        ));
                    }
                }
                ("yaml", _) if holds_configuration(&at, &fence.body) => {
                    complete += 1;
                    let result = check(&[(at.clone(), fence.body.clone())]);
                    if !result.ok || result.warnings > 0 {
                        problems.push(format!("{at}:\n{}", result.text));
                    }
                }
                _ => {}
            }
            if let Some(file) = fence.attributes.get("check") {
                let text = std::fs::read_to_string(workspace_root().join(file))
                    .unwrap_or_else(|e| panic!("{at}: check={file}: {e}"));
                let output = check(&[(file.clone(), text)]).text;
                for line in fence.body.lines().filter(|l| !l.trim().is_empty()) {
                    if !output.lines().any(|l| l.trim() == line.trim()) {
                        problems.push(format!(
                            "{at}: `jwt-authz check {file}` does not print {line:?}; it prints:\n{output}"
                        ));
                    }
                }
            }
        }
    }
    assert!(complete >= 2, "complete configurations found: {complete}");
    report("the book's examples", problems);
}

// ---- Responses and metrics -------------------------------------------------------------

#[test]
fn every_refusal_is_on_the_responses_page_with_its_status_and_description() {
    let tables = marked_tables(&book_pages(), "refusals");
    assert_eq!(tables.len(), 1, "one table marked <!-- refusals -->");
    let table = &tables[0];
    assert_eq!(
        table.header[..4],
        ["status", "error", "error_description", "reason"],
        "{}:{}: the columns",
        table.page,
        table.line
    );
    let mut problems = Vec::new();
    let every = AuthError::every_kind();
    for error in &every {
        let (status, code, description, reason) = (
            error.status().to_string(),
            error.code(),
            error.description().into_owned(),
            error.reason(),
        );
        let expected = [status.as_str(), code, description.as_str(), reason];
        match table.rows.iter().find(|(_, row)| row[2] == description) {
            None => problems.push(format!(
                "{}: no row for the refusal `{description}`: add `| {} |` to the table after <!-- refusals -->",
                table.page,
                expected.join(" | ")
            )),
            Some((line, row)) if row[..4] != expected => problems.push(format!(
                "{}:{line}: the row says `{}`, the filter answers `{}`",
                table.page,
                row[..4].join(" | "),
                expected.join(" | ")
            )),
            Some(_) => {}
        }
    }
    for (line, row) in &table.rows {
        if !every.iter().any(|e| e.description() == row[2]) {
            problems.push(format!(
                "{}:{line}: the filter has no refusal `{}` (src/error.rs, AuthError::every_kind)",
                table.page, row[2]
            ));
        }
    }
    report("the refusals", problems);
}

/// A counter name as the metrics page writes it: `NAME` for the provider, `REASON` for a
/// reason.
fn counter_pattern(name: &str) -> String {
    match REASONS
        .iter()
        .find_map(|r| name.strip_suffix(&format!(".denied.{r}")))
    {
        Some(prefix) => format!("{prefix}.denied.REASON"),
        None => name.to_string(),
    }
}

#[test]
fn every_counter_and_reason_is_on_the_metrics_page() {
    let config = Config::from_json(
        br#"{"providers": {"NAME": {"issuer": "https://i/", "audiences": ["a"],
             "remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c"}}}},
             "rules": [{"match": {"prefix": "/"}}]}"#,
    )
    .unwrap();
    let mut names = Vec::new();
    Counters::define(&config, |name| names.push(name.to_string()));
    let defined: BTreeSet<String> = names.iter().map(|n| counter_pattern(n)).collect();
    let pages = book_pages();
    let mut problems = Vec::new();
    for (kind, expected) in [
        ("counters", defined),
        (
            "reasons",
            REASONS
                .iter()
                .map(|r| r.to_string())
                .collect::<BTreeSet<_>>(),
        ),
    ] {
        let tables = marked_tables(&pages, kind);
        assert_eq!(tables.len(), 1, "one table marked <!-- {kind} -->");
        let table = &tables[0];
        let listed: BTreeMap<&str, usize> = table
            .rows
            .iter()
            .map(|(line, row)| (row[0].as_str(), *line))
            .collect();
        for name in &expected {
            if !listed.contains_key(name.as_str()) {
                problems.push(format!(
                    "{}: `{name}` is missing from the table after <!-- {kind} --> (src/metrics.rs has it)",
                    table.page
                ));
            }
        }
        for (name, line) in listed {
            if !expected.contains(name) {
                problems.push(format!(
                    "{}:{line}: `{name}` is not a {kind} of src/metrics.rs",
                    table.page
                ));
            }
        }
    }
    report("the metrics page", problems);
}

// ---- Sessions ----------------------------------------------------------------------------

#[test]
fn the_demo_session_in_the_book_and_the_readme_is_what_make_demo_prints() {
    let printed = session_text(&demo_session(&StackPorts::demo()));
    let steps: Vec<&str> = printed.trim_end().split("\n\n").collect();
    for path in ["README.md", "docs/src/getting-started/demo.md"] {
        let (fences, _) = split_fences(&page(path).text);
        let sessions: Vec<&Fence> = fences
            .iter()
            .filter(|f| f.attributes.get("session").map(String::as_str) == Some("demo"))
            .collect();
        assert_eq!(sessions.len(), 1, "{path}: one `sh session=demo` block");
        let shown: Vec<&str> = sessions[0].body.trim_end().split("\n\n").collect();
        // The book shows the whole session; the README, a front door, some of its steps, in order.
        let whole = path != "README.md";
        let mut rest = steps.iter();
        let stray = shown.iter().find(|step| {
            if whole {
                rest.next() != Some(step)
            } else {
                !rest.any(|printed| printed == *step)
            }
        });
        if let Some(step) = stray.or((whole && rest.next().is_some()).then_some(&"(the end)")) {
            panic!(
                "{path}: the demo session differs from what devstack/src/demo_commands.rs prints \
                 (make demo, and tests/e2e_demo.rs runs it); {} this step, or not in this order:\n{step}\n\
                 the whole session to paste:\n{printed}",
                if whole {
                    "the page is not the whole session at"
                } else {
                    "make demo does not print"
                },
            );
        }
        assert!(
            shown.len() >= 8,
            "{path}: the session block shows too little of the demo"
        );
    }
}

// ---- Links and structure -----------------------------------------------------------------

/// `path` with `.` and `..` resolved, if it stays inside the repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(c) => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let pages = markdown_files();
    let anchors_of: BTreeMap<&str, BTreeSet<String>> = pages
        .iter()
        .map(|p| (p.path.as_str(), anchors(&p.text)))
        .collect();
    let root = workspace_root();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in &pages {
        for (line, target) in links(&page.text) {
            let at = format!("{}:{line}", page.path);
            if target.is_empty() {
                problems.push(format!("{at}: an empty link"));
                continue;
            }
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if file.is_empty() {
                Some(PathBuf::from(&page.path))
            } else if file.starts_with('/') {
                problems.push(format!(
                    "{at}: `{target}`: links are relative to the page, not absolute"
                ));
                continue;
            } else {
                normalize(&page.dir().join(file))
            };
            let Some(resolved) = resolved else {
                problems.push(format!("{at}: `{target}` leads out of the repository"));
                continue;
            };
            if !root.join(&resolved).exists() {
                problems.push(format!(
                    "{at}: `{target}`: {} does not exist",
                    resolved.display()
                ));
                continue;
            }
            let resolved = resolved.to_string_lossy().to_string();
            let is_markdown = resolved.ends_with(".md");
            if page.in_book() && is_markdown && !resolved.starts_with(&format!("{BOOK}/")) {
                problems.push(format!(
                    "{at}: `{target}` is a Markdown file outside the book: mdBook would link to a .html that is not there; link to the book's page for it"
                ));
            }
            if let Some(anchor) = anchor {
                match anchors_of.get(resolved.as_str()) {
                    Some(ids) if ids.contains(anchor) => {}
                    Some(ids) => problems.push(format!(
                        "{at}: `{target}`: {resolved} has no heading with the id `{anchor}` (it has {})",
                        ids.iter().cloned().collect::<Vec<_>>().join(", ")
                    )),
                    None if is_markdown => {
                        problems.push(format!("{at}: `{target}`: cannot read its headings"))
                    }
                    None => problems.push(format!(
                        "{at}: `{target}`: an anchor into a file that is not Markdown"
                    )),
                }
            }
        }
    }
    assert!(checked > 100, "relative links checked: {checked}");
    report("links", problems);
}

#[test]
fn the_summary_lists_every_page_of_the_book() {
    let summary = page(&format!("{BOOK}/SUMMARY.md"));
    let listed: BTreeSet<String> = links(&summary.text)
        .into_iter()
        .map(|(_, target)| format!("{BOOK}/{target}"))
        .collect();
    let mut problems = Vec::new();
    for page in book_pages() {
        if page.path != summary.path && !listed.contains(&page.path) {
            problems.push(format!(
                "{} is not in {BOOK}/SUMMARY.md: mdBook would leave it out",
                page.path
            ));
        }
    }
    report("the summary", problems);
}

/// Folders of the repository that builds and runs create: named in the book, absent from a
/// fresh clone.
const BUILD_OUTPUTS: [&str; 4] = ["docs/book", "fuzz/corpus", "fuzz/artifacts", "fuzz/target"];

#[test]
fn every_repository_path_the_book_names_exists() {
    let tops = [
        "src", "tests", "cli", "devstack", "devidp", "deploy", "envoy", "bench", "fuzz", "soak",
        "docs",
    ];
    let root = workspace_root();
    let mut problems = Vec::new();
    for page in markdown_files() {
        for span in code_spans(&page.text) {
            let looks_like_path = tops.iter().any(|t| span.starts_with(&format!("{t}/")))
                && span
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
            let path = span.trim_end_matches('/');
            if looks_like_path
                && !BUILD_OUTPUTS.iter().any(|b| path.starts_with(b))
                && !root.join(path).exists()
            {
                problems.push(format!("{}: `{span}` does not exist", page.path));
            }
        }
    }
    report("repository paths", problems);
}

#[test]
fn the_readme_is_a_front_door() {
    let lines = page("README.md").text.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, at most {README_MAX_LINES}: put the detail in the book ({BOOK}/) and link to it"
    );
}

#[test]
fn the_design_page_names_every_part_of_src() {
    let design = page(&format!("{BOOK}/design.md"));
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(workspace_root().join("src")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let named = if entry.file_type().unwrap().is_dir() {
            format!("`src/{name}/`")
        } else {
            format!("`src/{name}`")
        };
        if !design.text.contains(&named) {
            problems.push(format!("{}: {named} is not named", design.path));
        }
    }
    report("the design page", problems);
}

// ---- The helpers themselves ---------------------------------------------------------------

#[test]
fn markdown_helpers_read_what_they_must() {
    let text = "# A `code` heading\n\n## Dup\n## Dup\n\nSee [x](a.md#b) and `[not](a link)`.\n\
                ```json fragment=rules[]\n{}\n```\n\n  ```` ```json ```` is code\n\n\
                <!-- config: (root) -->\n| field | b |\n|---|---|\n| `x\\|y` | a |\n";
    assert_eq!(
        anchors(text),
        BTreeSet::from(["a-code-heading".into(), "dup".into(), "dup-1".into()])
    );
    assert_eq!(links(text), vec![(6, "a.md#b".to_string())]);
    let (fences, _) = split_fences(text);
    assert_eq!(fences.len(), 1);
    assert_eq!(fences[0].attributes["fragment"], "rules[]");
    assert_eq!(fences[0].body, "{}\n");
    let tables = marked_tables(
        &[Page {
            path: "p".into(),
            text: text.into(),
        }],
        "config:",
    );
    assert_eq!(tables[0].argument, "(root)");
    assert_eq!(tables[0].rows[0].1, vec!["x|y", "a"]);
    assert_eq!(
        counter_pattern("jwt_authz.provider.NAME.denied.unknown_key"),
        "jwt_authz.provider.NAME.denied.REASON"
    );
    assert_eq!(heading_id("The demo: `make demo`"), "the-demo-make-demo");
}
