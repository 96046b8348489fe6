//! Round trips of the exports: write the CSV, XLSX and JSON of a fixture jam, read the CSV back with the
//! csv crate and the XLSX with calamine, and compare them with the JSON cell for cell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};
use chrono::{DateTime, Duration, TimeZone, Utc};
use jam_tally::{
    AudienceCounts, Curation, Digest, Exclusion, ExportHeader, IdeaFacts, ItemStatus, Method, Params,
    RankedIdea, ShortlistState, XlsxOptions, compute, csv_columns, format_score, guard_formula, write_csv,
    write_json, write_xlsx,
};
use serde_json::Value;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

const TRICKY_TITLES: [&str; 6] = [
    "=HYPERLINK(\"x\")",
    "<img src=x onerror=alert(1)>",
    "Café für alle — 日本語 🚀",
    "Line one\nline two, with \"quotes\"",
    "-1 cost, +2 joy",
    "@everyone\ttab",
];

fn idea(n: u128, title: &str, up: u64, down: u64, status: ItemStatus) -> IdeaFacts {
    let employees = AudienceCounts {
        up: up / 2,
        down: down / 2,
    };
    let clients = AudienceCounts {
        up: up - employees.up,
        down: down - employees.down,
    };
    let mut by_audience = BTreeMap::from([("employee".to_owned(), employees)]);
    if clients.up + clients.down > 0 {
        by_audience.insert("=client".to_owned(), clients);
    }
    IdeaFacts {
        id: Uuid::from_u128(n),
        title: title.to_owned(),
        session_id: Uuid::from_u128(1000 + n % 2),
        session_title: if n.is_multiple_of(2) {
            "+Growth".into()
        } else {
            "Culture, people".into()
        },
        author: if n == 3 {
            "@admin".into()
        } else {
            format!("Author Ω{n}")
        },
        created_at: t0() + Duration::milliseconds(n as i64 * 1500),
        status,
        up,
        down,
        impressions: (up + down) * 3,
        comments: n as u64 % 3,
        by_audience,
    }
}

fn fixture() -> (Vec<IdeaFacts>, Curation) {
    use ItemStatus::*;
    let mut ideas = vec![
        idea(1, TRICKY_TITLES[0], 5, 0, Visible),
        idea(2, TRICKY_TITLES[1], 3, 1, Visible),
        idea(3, TRICKY_TITLES[2], 3, 1, Visible),
        idea(4, TRICKY_TITLES[3], 10, 10, Visible),
        idea(5, TRICKY_TITLES[4], 1, 0, Visible),
        idea(6, TRICKY_TITLES[5], 0, 3, Visible),
        idea(7, "hidden", 40, 0, Hidden),
        idea(8, "merged away", 30, 0, Merged),
        idea(9, "no votes", 0, 0, Visible),
    ];
    ideas.push(idea(10, "removed", 20, 0, Removed));
    let curation = Curation {
        excluded: vec![Exclusion {
            idea_id: Uuid::from_u128(2),
            reason: "=duplicate of \"Café\"".into(),
            by: "Facilitator Zoë".into(),
            at: t0() + Duration::hours(3),
        }],
        pinned: vec![Uuid::from_u128(9)],
    };
    (ideas, curation)
}

struct Exported {
    json: Value,
    csv: Vec<u8>,
    xlsx: Vec<u8>,
}

fn export(method: Method) -> Exported {
    let (ideas, curation) = fixture();
    let params = Params {
        method,
        shortlist_size: 3,
    };
    let results = compute(ideas, &curation, &params, t0() + Duration::hours(5));
    let digest = Digest([0xab; 32]);
    let audiences = vec!["employee".to_owned(), "=client".to_owned(), "family".to_owned()];
    let header = ExportHeader::new(
        &results,
        Uuid::from_u128(77),
        "Jam — 2026",
        ShortlistState::Published,
        digest,
        audiences,
    );
    let mut json = Vec::new();
    assert_eq!(write_json(&mut json, &header, &results.ideas).unwrap(), 7);
    let mut csv = Vec::new();
    assert_eq!(write_csv(&mut csv, &header, &results.ideas).unwrap(), 7);
    let mut xlsx = Vec::new();
    assert_eq!(
        write_xlsx(&mut xlsx, &header, &results.ideas, &XlsxOptions::default()).unwrap(),
        7
    );
    Exported {
        json: serde_json::from_slice(&json).unwrap(),
        csv,
        xlsx,
    }
}

const METHODS: [Method; 3] = [Method::Wilson, Method::Net, Method::Bayesian];

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn time(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value).unwrap().with_timezone(&Utc)
}

/// A spreadsheet cell as the text the JSON would give: numbers without a fraction as integers.
fn cell(data: &Data) -> String {
    match data {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        other => panic!("unexpected cell {other:?}"),
    }
}

fn audience(item: &Value, name: &str, side: &str) -> String {
    item["by_audience"]
        .get(name)
        .map(|counts| counts[side].to_string())
        .unwrap_or_else(|| "0".into())
}

/// The cells of one "All ideas" row, as expected from a JSON item.
fn expected_all_ideas_row(item: &Value) -> Vec<String> {
    vec![
        text(&item["rank"]),
        text(&item["shortlist_position"]),
        text(&item["pinned"]),
        (!item["excluded_reason"].is_null()).to_string(),
        text(&item["excluded_reason"]),
        text(&item["idea"]["id"]),
        text(&item["idea"]["title"]),
        text(&item["idea"]["session_id"]),
        text(&item["idea"]["session_title"]),
        text(&item["idea"]["author"]),
        String::new(), // created_at: compared as a time
        String::new(), // score: compared as a number
        text(&item["up"]),
        text(&item["down"]),
        text(&item["voters"]),
        text(&item["comments"]),
    ]
}

#[test]
fn the_json_lists_every_visible_idea_and_the_curated_shortlist() {
    let json = export(Method::Wilson).json;
    assert_eq!(json["jam_id"], Uuid::from_u128(77).to_string());
    assert_eq!(json["method"], "wilson");
    assert_eq!(
        json["params"],
        serde_json::json!({"method": "wilson", "shortlist_size": 3})
    );
    assert_eq!(json["state"], "published");
    assert_eq!(json["digest"], "ab".repeat(32));
    assert_eq!(
        json["curation"]["excluded"][0]["reason"],
        "=duplicate of \"Café\""
    );
    let items = json["items"].as_array().unwrap();
    let ids: Vec<u128> = items
        .iter()
        .map(|i| {
            Uuid::parse_str(i["idea"]["id"].as_str().unwrap())
                .unwrap()
                .as_u128()
        })
        .collect();
    // Wilson: 1 (5/0), 2 and 3 (3/1, 2 posted first), 4 (10/10), 5 (1/0), then 6 (0/3) and 9 (0/0).
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 9]);
    assert_eq!(items[0]["idea"]["title"], "=HYPERLINK(\"x\")");
    assert_eq!(items[1]["excluded_reason"], "=duplicate of \"Café\"");
    let shortlist: Vec<(u64, u64, bool)> = json["shortlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["rank"].as_u64().unwrap(),
                s["method_rank"].as_u64().unwrap(),
                s["pinned"].as_bool().unwrap(),
            )
        })
        .collect();
    // Idea 2 is excluded, idea 9 (last) is pinned: 1, 3, 9.
    assert_eq!(shortlist, [(1, 1, false), (2, 3, false), (3, 7, true)]);
}

#[test]
fn the_csv_matches_the_json_cell_for_cell() {
    for method in METHODS {
        let exported = export(method);
        assert!(
            exported.csv.starts_with(b"\xEF\xBB\xBF"),
            "a UTF-8 byte-order mark opens the file"
        );
        let mut reader = csv::ReaderBuilder::new().from_reader(&exported.csv[3..]);
        let audiences = ["employee", "=client", "family"].map(String::from);
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, csv_columns(&audiences));
        assert!(headers.contains(&"up (=client)".to_owned()));
        let json = &exported.json;
        let items = json["items"].as_array().unwrap();
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), items.len());
        for (record, item) in records.iter().zip(items) {
            let cells: Vec<&str> = record.iter().collect();
            let mut expected = expected_all_ideas_row(item);
            for i in [4, 6, 8, 9] {
                expected[i] = guard_formula(&expected[i]).into_owned();
            }
            expected[10] = cells[10].to_owned();
            expected[11] = format_score(method, item["score"].as_f64().unwrap());
            // The theme's label follows the comments (empty without a theme).
            expected.push(text(&item["idea"]["theme"]));
            for name in &audiences {
                expected.push(audience(item, name, "up"));
                expected.push(audience(item, name, "down"));
            }
            expected.push(method.to_string());
            expected.push(cells[cells.len() - 2].to_owned());
            expected.push(text(&json["digest"]));
            assert_eq!(cells, expected);
            assert_eq!(
                time(cells[10]),
                time(item["idea"]["created_at"].as_str().unwrap())
            );
            assert_eq!(
                time(cells[cells.len() - 2]),
                time(json["computed_at"].as_str().unwrap())
            );
        }
        // Formula-looking text is defused in the CSV only; the numbers of the net method are not.
        assert_eq!(&records[0][6], "'=HYPERLINK(\"x\")");
        let text = String::from_utf8(exported.csv.clone()).unwrap();
        assert!(text.contains("<img src=x onerror=alert(1)>"));
        assert!(text.contains("Café für alle — 日本語 🚀"));
        assert!(text.contains("\r\n"));
        if method == Method::Net {
            assert!(records.iter().any(|r| &r[11] == "-3"));
        }
    }
}

fn sheet(xlsx: &[u8], name: &str) -> Range<Data> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx.to_vec())).unwrap();
    workbook.worksheet_range(name).unwrap()
}

#[test]
fn the_xlsx_has_the_four_sheets_and_a_chart() {
    let exported = export(Method::Wilson);
    let workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(exported.xlsx.clone())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        ["Shortlist", "All ideas", "By audience", "Method"]
    );
    // Zip entry names are stored uncompressed.
    let has = |needle: &[u8]| exported.xlsx.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"xl/charts/chart1.xml"));
}

#[test]
fn the_xlsx_gains_the_hourly_mood_series_as_a_sheet_when_given() {
    let (ideas, curation) = fixture();
    let params = Params {
        method: Method::Wilson,
        shortlist_size: 3,
    };
    let results = compute(ideas, &curation, &params, t0() + Duration::hours(5));
    let mut header = ExportHeader::new(
        &results,
        Uuid::from_u128(77),
        "Jam",
        ShortlistState::Draft,
        Digest([0; 32]),
        vec!["employee".to_owned()],
    );
    header.mood_hourly = vec![
        jam_tally::MoodHour {
            start: t0(),
            negative: 3,
            neutral: 0,
            positive: 1,
        },
        jam_tally::MoodHour {
            start: t0() + Duration::hours(1),
            negative: 0,
            neutral: 0,
            positive: 0,
        },
    ];
    let mut xlsx = Vec::new();
    write_xlsx(&mut xlsx, &header, &results.ideas, &XlsxOptions::default()).unwrap();
    let mood = sheet(&xlsx, "Mood");
    let rows: Vec<Vec<String>> = mood.rows().map(|r| r.iter().map(cell).collect()).collect();
    assert_eq!(
        rows[0],
        ["Hour (UTC)", "Negative", "Neutral", "Positive", "Negative share"]
    );
    assert_eq!(rows[1][0], t0().format("%Y-%m-%d %H:%M").to_string());
    assert_eq!(&rows[1][1..], ["3", "0", "1", "0.75"]);
    assert_eq!(&rows[2][1..4], ["0", "0", "0"]);
    assert_eq!(rows.len(), 3);
}

#[test]
fn the_xlsx_all_ideas_sheet_matches_the_json_cell_for_cell() {
    for method in METHODS {
        let exported = export(method);
        let range = sheet(&exported.xlsx, "All ideas");
        let rows: Vec<&[Data]> = range.rows().collect();
        let header: Vec<String> = rows[0].iter().map(cell).collect();
        assert_eq!(header[..3], ["rank", "shortlist_position", "pinned"]);
        let items = exported.json["items"].as_array().unwrap();
        assert_eq!(rows.len() - 1, items.len());
        for (row, item) in rows[1..].iter().zip(items) {
            let mut cells: Vec<String> = row.iter().map(cell).collect();
            cells.resize(16, String::new());
            let mut expected = expected_all_ideas_row(item);
            expected[10] = cells[10].clone();
            expected[11] = cells[11].clone();
            assert_eq!(cells, expected, "text is exact in the XLSX");
            assert_eq!(
                time(&cells[10]),
                time(item["idea"]["created_at"].as_str().unwrap())
            );
            assert_eq!(
                row[11],
                Data::Float(item["score"].as_f64().unwrap()),
                "scores are exact"
            );
        }
        assert_eq!(
            rows[1][6],
            Data::String("=HYPERLINK(\"x\")".into()),
            "a string, not a formula"
        );
    }
}

#[test]
fn the_xlsx_shortlist_and_audience_sheets_match_the_json() {
    for method in METHODS {
        let exported = export(method);
        let json = &exported.json;
        let items = json["items"].as_array().unwrap();
        let by_id = |id: &Value| items.iter().find(|i| i["idea"]["id"] == *id).unwrap();
        let audiences = ["employee", "=client", "family"];

        let range = sheet(&exported.xlsx, "Shortlist");
        let rows: Vec<&[Data]> = range.rows().collect();
        let shortlist = json["shortlist"].as_array().unwrap();
        let data_rows: Vec<&&[Data]> = rows[1..]
            .iter()
            .filter(|r| !matches!(r[0], Data::Empty))
            .collect();
        assert_eq!(data_rows.len(), shortlist.len());
        assert_eq!(cell(&rows[0][12]), "up (employee)");
        for (row, entry) in data_rows.iter().zip(shortlist) {
            let item = by_id(&entry["idea"]["id"]);
            let cells: Vec<String> = row.iter().map(cell).collect();
            let mut expected = vec![
                text(&entry["rank"]),
                text(&entry["method_rank"]),
                text(&entry["pinned"]),
                text(&entry["idea"]["id"]),
                text(&entry["idea"]["title"]),
                text(&item["idea"]["session_title"]),
                text(&entry["idea"]["author"]),
                cells[7].clone(),
                text(&entry["up"]),
                text(&entry["down"]),
                text(&entry["voters"]),
                text(&entry["comments"]),
            ];
            for name in audiences {
                expected.push(audience(entry, name, "up"));
                expected.push(audience(entry, name, "down"));
            }
            assert_eq!(cells, expected);
            assert_eq!(row[7], Data::Float(entry["score"].as_f64().unwrap()));
        }

        let range = sheet(&exported.xlsx, "By audience");
        let rows: Vec<&[Data]> = range.rows().collect();
        assert_eq!(rows.len() - 1, items.len());
        for (row, item) in rows[1..].iter().zip(items) {
            let cells: Vec<String> = row.iter().map(cell).collect();
            let mut expected = vec![
                text(&item["rank"]),
                text(&item["idea"]["id"]),
                text(&item["idea"]["title"]),
                text(&item["up"]),
                text(&item["down"]),
            ];
            for name in audiences {
                expected.push(audience(item, name, "up"));
                expected.push(audience(item, name, "down"));
            }
            assert_eq!(cells, expected);
        }
    }
}

#[test]
fn the_xlsx_method_sheet_names_the_method_digest_and_curation() {
    let exported = export(Method::Bayesian);
    let range = sheet(&exported.xlsx, "Method");
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();
    let value = |key: &str| rows.iter().find(|r| r[0] == key).map(|r| r[1].clone()).unwrap();
    assert_eq!(value("method"), "bayesian");
    assert_eq!(value("digest"), exported.json["digest"].as_str().unwrap());
    assert_eq!(value("shortlist_size"), "3");
    assert_eq!(value("state"), "published");
    assert_eq!(value("ideas_ranked"), "7");
    assert_eq!(
        value("prior_mean").parse::<f64>().unwrap(),
        exported.json["prior"]["mean"].as_f64().unwrap()
    );
    let exclusion = rows.iter().find(|r| r[0] == "exclude").unwrap();
    assert_eq!(exclusion[1], Uuid::from_u128(2).to_string());
    assert_eq!(exclusion[2], "<img src=x onerror=alert(1)>");
    assert_eq!(exclusion[3], "=duplicate of \"Café\"");
    assert_eq!(exclusion[4], "Facilitator Zoë");
    let pin = rows.iter().find(|r| r[0] == "pin").unwrap();
    assert_eq!(pin[2], "no votes");
    assert!(rows.iter().any(|r| {
        r.iter()
            .any(|c| c.contains("Wilson") || c.contains("imagined votes"))
    }));
}

/// Rows made on the fly, never held together: the writers must cope with any number of them.
fn many_rows(n: usize) -> impl Iterator<Item = RankedIdea> {
    (0..n).map(|i| RankedIdea {
        rank: i + 1,
        shortlist_position: (i < 10).then_some(i + 1),
        pinned: false,
        excluded_reason: None,
        idea: jam_tally::IdeaRef {
            id: Uuid::from_u128(i as u128),
            title: format!("Idea number {i}, \"quoted\""),
            session_id: Uuid::from_u128(7),
            session_title: "Session".into(),
            author: "Author".into(),
            created_at: t0(),
            theme: (i % 3 == 0).then(|| "bike, parking, shower".into()),
        },
        score: 1.0 / (i as f64 + 1.0),
        up: 50,
        down: i as u64 % 50,
        voters: 50 + i as u64 % 50,
        comments: 1,
        by_audience: BTreeMap::from([("employee".to_owned(), AudienceCounts { up: 50, down: 0 })]),
    })
}

#[test]
fn twenty_thousand_ideas_stream_into_every_format() {
    const N: usize = 20_000;
    let (_, curation) = fixture();
    let results = compute(vec![], &curation, &Params::default(), t0());
    let header = ExportHeader::new(
        &results,
        Uuid::from_u128(1),
        "Big jam",
        ShortlistState::Draft,
        Digest([0; 32]),
        vec!["employee".into()],
    );

    let mut csv_bytes = Vec::new();
    assert_eq!(
        write_csv(&mut csv_bytes, &header, many_rows(N)).unwrap(),
        N as u64
    );
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let theme_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "theme")
        .unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), N);
    // Every third idea has a theme (its label), the others an empty cell.
    assert_eq!(&records[0][theme_col], "bike, parking, shower");
    assert_eq!(&records[1][theme_col], "");

    let mut json_bytes = Vec::new();
    assert_eq!(
        write_json(&mut json_bytes, &header, many_rows(N)).unwrap(),
        N as u64
    );
    let json: Value = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), N);
    assert_eq!(json["items"][3]["idea"]["theme"], "bike, parking, shower");
    assert_eq!(json["items"][4]["idea"]["theme"], Value::Null);
    assert_eq!(json["shortlist"].as_array().unwrap().len(), 10);

    let dir = tempfile::tempdir().unwrap();
    let options = XlsxOptions {
        tempdir: Some(dir.path().to_owned()),
    };
    let mut xlsx = Vec::new();
    assert_eq!(
        write_xlsx(&mut xlsx, &header, many_rows(N), &options).unwrap(),
        N as u64
    );
    let all = sheet(&xlsx, "All ideas");
    assert_eq!(all.height(), N + 1);
    // One theme, summed over its ideas: every third from rank 1, four of them on the shortlist of 10.
    let themes = sheet(&xlsx, "Themes");
    assert_eq!(themes.height(), 2);
    assert_eq!(themes.get_value((0, 0)), Some(&Data::String("theme".into())));
    let themed: Vec<RankedIdea> = many_rows(N).filter(|r| r.idea.theme.is_some()).collect();
    let cell = |col: u32| themes.get_value((1, col)).cloned();
    assert_eq!(cell(0), Some(Data::String("bike, parking, shower".into())));
    assert_eq!(cell(1), Some(Data::Float(themed.len() as f64)));
    assert_eq!(cell(2), Some(Data::Float(4.0)));
    assert_eq!(cell(3), Some(Data::Float(1.0)));
    assert_eq!(
        cell(4),
        Some(Data::Float(themed.iter().map(|r| r.up).sum::<u64>() as f64))
    );
    assert_eq!(
        cell(5),
        Some(Data::Float(themed.iter().map(|r| r.down).sum::<u64>() as f64))
    );
    let theme_col = 16; // the last column of "All ideas"
    assert_eq!(all.get_value((0, theme_col)), Some(&Data::String("theme".into())));
    assert_eq!(
        all.get_value((1, theme_col)),
        Some(&Data::String("bike, parking, shower".into()))
    );
}
