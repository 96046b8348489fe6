//! `just bench-pulse` (sections `search` and `similar`): latency of full-text search and of similar
//! ideas over a jam of 100,000 ideas, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo run --release -p jam-store --example bench_search -- [options]
//!   --sections LIST   search,similar (default both)
//!   --ideas N         ideas seeded (default 100000; --small: 2000)
//!   --searches N      searches measured per backend (default 1000; --small: 100)
//!   --similar N       similar-idea lookups measured per backend (default 500; --small: 50)
//!   --small           CI-size smoke run
//!   --no-postgres     SQLite only
//! ```
//! PostgreSQL runs on a fresh database created and dropped through `jam_testkit` (from
//! `JAM_TEST_DATABASE_URL`); SQLite in a temporary folder.
//!
//! The corpus: one jam, 10 sessions, 2,000 participants; each idea's title (4 to 8 words), body (15
//! to 60 words) and 0 to 3 tags are drawn from an English or a French word list (70% English),
//! words skewed towards the head of each list (a few words are very common, most are rare), in
//! inflected forms (plurals, -ing, accents) so stemming is exercised. Seeded deterministically.
//!
//! Searches: a fixed mix per round — one common word, one rare word, two words, three words, a
//! French word typed without accents, with a session facet, with a tag facet, `sort=new`, and the
//! second page of a common word (through its cursor) — as a participant (visible ideas only), 20
//! results per page. Similar: the title and body of an existing idea with a few words changed, in
//! its session. Each call is timed alone (one at a time, after a warm-up), at the store level
//! (`jam_store::search::search` and `similar`, what the routes call before rendering the page).

use std::error::Error;
use std::time::Instant;

use jam_domain::terms;
use jam_store::entity::{ideas, sessions};
use jam_store::search::{self, Filter, Order, SimilarParams, Statuses};
use jam_testkit::{Seed, TestDb, rows, seed};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const EN: &[&str] = &[
    "energy",
    "school",
    "team",
    "customer",
    "remote",
    "work",
    "meeting",
    "data",
    "training",
    "health",
    "office",
    "travel",
    "cloud",
    "security",
    "green",
    "learning",
    "manager",
    "process",
    "service",
    "product",
    "quality",
    "market",
    "budget",
    "open",
    "source",
    "community",
    "mentor",
    "career",
    "feedback",
    "innovation",
    "water",
    "solar",
    "recycling",
    "bike",
    "parking",
    "lunch",
    "coffee",
    "kitchen",
    "printer",
    "laptop",
    "network",
    "software",
    "hardware",
    "testing",
    "release",
    "schedule",
    "calendar",
    "holiday",
    "family",
    "childcare",
    "wellness",
    "sport",
    "running",
    "walking",
    "volunteer",
    "charity",
    "donation",
    "carbon",
    "footprint",
    "paper",
    "waste",
    "plastic",
    "supplier",
    "contract",
    "legal",
    "privacy",
    "patent",
    "research",
    "laboratory",
    "prototype",
    "design",
    "user",
    "interface",
    "mobile",
    "app",
    "website",
    "search",
    "archive",
    "library",
    "knowledge",
    "wiki",
    "forum",
    "chat",
    "video",
    "conference",
    "hackathon",
    "award",
    "bonus",
    "salary",
    "promotion",
    "hiring",
    "interview",
    "onboarding",
    "diversity",
    "inclusion",
    "accessibility",
    "language",
    "translation",
    "document",
    "template",
    "approval",
    "workflow",
    "automation",
    "robot",
    "sensor",
    "factory",
    "warehouse",
    "shipping",
    "delivery",
    "truck",
    "electric",
    "vehicle",
    "charging",
    "station",
    "building",
    "lighting",
    "heating",
    "cooling",
    "window",
    "garden",
    "tree",
    "rooftop",
    "battery",
    "storage",
    "grid",
    "smart",
    "meter",
    "analytics",
    "dashboard",
    "report",
    "metric",
    "goal",
    "strategy",
    "vision",
    "leadership",
    "coaching",
    "pairing",
    "review",
    "quantum",
    "blockchain",
    "satellite",
    "orbit",
    "telescope",
    "microscope",
];

const FR: &[&str] = &[
    "énergie",
    "école",
    "équipe",
    "client",
    "télétravail",
    "travail",
    "réunion",
    "données",
    "formation",
    "santé",
    "bureau",
    "voyage",
    "sécurité",
    "vert",
    "apprentissage",
    "gestionnaire",
    "processus",
    "qualité",
    "marché",
    "budget",
    "communauté",
    "carrière",
    "innovation",
    "eau",
    "solaire",
    "recyclage",
    "vélo",
    "stationnement",
    "déjeuner",
    "café",
    "cuisine",
    "imprimante",
    "ordinateur",
    "réseau",
    "logiciel",
    "matériel",
    "essai",
    "calendrier",
    "vacances",
    "famille",
    "crèche",
    "bien-être",
    "marche",
    "bénévolat",
    "association",
    "don",
    "carbone",
    "empreinte",
    "papier",
    "déchet",
    "plastique",
    "fournisseur",
    "contrat",
    "juridique",
    "confidentialité",
    "brevet",
    "recherche",
    "laboratoire",
    "prototype",
    "conception",
    "utilisateur",
    "interface",
    "application",
    "site",
    "archive",
    "bibliothèque",
    "connaissance",
    "forum",
    "vidéo",
    "conférence",
    "prime",
    "salaire",
    "recrutement",
    "entretien",
    "intégration",
    "diversité",
    "accessibilité",
    "langue",
    "traduction",
    "document",
    "modèle",
    "validation",
    "automatisation",
    "capteur",
    "usine",
    "entrepôt",
    "livraison",
    "camion",
    "électrique",
    "véhicule",
    "recharge",
    "borne",
    "bâtiment",
    "éclairage",
    "chauffage",
    "climatisation",
    "fenêtre",
    "jardin",
    "arbre",
    "toiture",
    "batterie",
    "stockage",
    "compteur",
    "tableau",
    "rapport",
    "objectif",
    "stratégie",
    "vision",
    "accompagnement",
    "relecture",
    "satellite",
    "télescope",
    "microscope",
    "idée",
    "projet",
    "entreprise",
    "avenir",
];

const EN_GLUE: &[&str] = &[
    "the", "and", "for", "with", "our", "a", "to", "of", "in", "we", "should",
];
const FR_GLUE: &[&str] = &[
    "le", "la", "les", "des", "pour", "avec", "nos", "une", "de", "dans", "et",
];

/// A small deterministic generator (xorshift64*), so every run seeds the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// An index skewed to the head of a list of `n` (a few words common, most rare).
    fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powf(2.5)) * n as f64) as usize % n
    }
}

/// A word of the list, sometimes inflected (plural, -ing in English).
fn word(rng: &mut Rng, list: &[&str], english: bool) -> String {
    let w = list[rng.skewed(list.len())];
    match rng.below(6) {
        0 => format!("{w}s"),
        1 if english && !w.ends_with('e') => format!("{w}ing"),
        _ => w.to_owned(),
    }
}

fn sentence(rng: &mut Rng, english: bool, words: usize) -> String {
    let (list, glue) = if english { (EN, EN_GLUE) } else { (FR, FR_GLUE) };
    let mut out: Vec<String> = Vec::with_capacity(words);
    for _ in 0..words {
        if rng.below(3) == 0 {
            out.push(glue[rng.below(glue.len())].to_owned());
        } else {
            out.push(word(rng, list, english));
        }
    }
    out.join(" ")
}

struct Corpus {
    seed: Seed,
    sessions: Vec<sessions::Model>,
    ideas: Vec<ideas::Model>,
}

fn corpus(n: usize) -> Corpus {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let seed = Seed::new(2000, 0);
    let mut sessions = vec![seed.session.clone()];
    for _ in 1..10 {
        sessions.push(rows::session(&seed.jam));
    }
    let mut ideas = Vec::with_capacity(n);
    for i in 0..n {
        let english = rng.below(10) < 7;
        let title_words = 4 + rng.below(5);
        let title = sentence(&mut rng, english, title_words);
        let body_words = 15 + rng.below(46);
        let body = sentence(&mut rng, english, body_words);
        let list = if english { EN } else { FR };
        let tags: Vec<String> = (0..rng.below(4))
            .map(|_| list[rng.skewed(list.len().min(40))].to_owned())
            .collect();
        let session = &sessions[i % sessions.len()];
        let author = &seed.participants[rng.below(seed.participants.len())];
        ideas.push(ideas::Model::posted(
            session,
            author.id,
            title,
            body,
            &tags,
            seed.jam.created_at,
        ));
    }
    Corpus {
        seed,
        sessions,
        ideas,
    }
}

async fn insert(db: &DatabaseConnection, c: &Corpus) -> Res<f64> {
    let t = Instant::now();
    let txn = db.begin().await?;
    c.seed.insert(&txn).await?;
    for s in &c.sessions[1..] {
        seed::insert(&txn, s).await?;
    }
    for chunk in c.ideas.chunks(5000) {
        seed::insert_all(&txn, chunk).await?;
    }
    txn.commit().await?;
    Ok(t.elapsed().as_secs_f64())
}

fn percentile(sorted_ms: &[f64], q: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let i = ((sorted_ms.len() as f64 - 1.0) * q).round() as usize;
    sorted_ms[i.min(sorted_ms.len() - 1)]
}

struct Row {
    backend: &'static str,
    section: &'static str,
    calls: usize,
    p50: f64,
    p99: f64,
    max: f64,
    mean_results: f64,
}

fn summarize(backend: &'static str, section: &'static str, mut ms: Vec<f64>, results: usize) -> Row {
    ms.sort_by(f64::total_cmp);
    Row {
        backend,
        section,
        calls: ms.len(),
        p50: percentile(&ms, 0.50),
        p99: percentile(&ms, 0.99),
        max: ms.last().copied().unwrap_or(0.0),
        mean_results: results as f64 / ms.len().max(1) as f64,
    }
}

/// One search of the mix (`k` picks which), as a participant would send it.
async fn one_search(db: &DatabaseConnection, c: &Corpus, rng: &mut Rng, k: usize) -> Res<usize> {
    let jam_id = c.seed.jam.id;
    let mut filter = Filter {
        jam_id,
        session_id: None,
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Only(jam_domain::ItemStatus::Visible),
    };
    let en = |rng: &mut Rng, head: usize| EN[rng.below(head.min(EN.len()))];
    let q: String = match k % 9 {
        0 => en(rng, 10).to_owned(),
        1 => EN[EN.len() - 1 - rng.below(40)].to_owned(),
        2 => format!("{} {}", en(rng, 40), en(rng, 40)),
        3 => format!("{} {} {}", en(rng, 60), en(rng, 60), en(rng, 60)),
        4 => terms::fold(FR[rng.below(30)]),
        5 => {
            filter.session_id = Some(c.sessions[rng.below(c.sessions.len())].id);
            en(rng, 30).to_owned()
        }
        6 => {
            filter.tag_key = terms::tag_key(EN[rng.below(20)]);
            en(rng, 30).to_owned()
        }
        _ => en(rng, 20).to_owned(),
    };
    let order = if k % 9 == 7 { Order::New } else { Order::Relevance };
    let query = terms::query(&q);
    let mut page = search::search(db, &query, &filter, order, None, 20).await?;
    if k % 9 == 8
        && let Some(next) = page.next
    {
        page = search::search(db, &query, &filter, order, Some(next), 20).await?;
    }
    Ok(page.items.len())
}

/// The searches of the mix, in the order of `one_search`'s `k % 9`.
const KINDS: [&str; 9] = [
    "common word",
    "rare word",
    "two words",
    "three words",
    "French unaccented",
    "session facet",
    "tag facet",
    "sort=new",
    "page 2",
];

/// The row of the search section, and p50/p99 per kind of search (where the time goes).
async fn bench_search(
    db: &DatabaseConnection,
    c: &Corpus,
    backend: &'static str,
    n: usize,
) -> Res<(Row, String)> {
    let mut rng = Rng(42);
    for k in 0..50 {
        one_search(db, c, &mut rng, k).await?;
    }
    let mut ms = Vec::with_capacity(n);
    let mut by_kind: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    let mut results = 0;
    for k in 0..n {
        let t = Instant::now();
        results += one_search(db, c, &mut rng, k).await?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        ms.push(took);
        by_kind[k % KINDS.len()].push(took);
    }
    let split: Vec<String> = KINDS
        .iter()
        .zip(by_kind)
        .map(|(name, mut v)| {
            v.sort_by(f64::total_cmp);
            format!("{name} {:.1}/{:.1}", percentile(&v, 0.5), percentile(&v, 0.99))
        })
        .collect();
    let note = format!("{backend}: search p50/p99 ms by kind: {}", split.join(", "));
    Ok((summarize(backend, "search", ms, results), note))
}

async fn bench_similar(
    db: &DatabaseConnection,
    c: &Corpus,
    backend: &'static str,
    n: usize,
) -> Res<(Row, usize)> {
    let mut rng = Rng(7);
    let params = SimilarParams {
        min_score: 0.3,
        limit: 5,
    };
    let mut ms = Vec::with_capacity(n);
    let mut results = 0;
    let mut found_original = 0;
    for k in 0..(n + 20) {
        let idea = &c.ideas[rng.below(c.ideas.len())];
        // A near-duplicate: the same title with one word dropped, the body's first half.
        let mut words: Vec<&str> = idea.title.split(' ').collect();
        if words.len() > 3 {
            words.remove(rng.below(words.len()));
        }
        let title = words.join(" ");
        let half: String = idea.body.split(' ').take(12).collect::<Vec<_>>().join(" ");
        let stored = terms::stored_text(&title, &half, &[]);
        let t = Instant::now();
        let found = search::similar(db, idea.jam_id, idea.session_id, &stored, None, params).await?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if k >= 20 {
            ms.push(took);
            results += found.len();
            if found.iter().any(|s| s.idea.id == idea.id) {
                found_original += 1;
            }
        }
    }
    Ok((summarize(backend, "similar", ms, results), found_original))
}

struct Options {
    sections: Vec<String>,
    ideas: usize,
    searches: usize,
    similar: usize,
    postgres: bool,
}

fn options() -> Res<Options> {
    let mut o = Options {
        sections: vec!["search".into(), "similar".into()],
        ideas: 100_000,
        searches: 1000,
        similar: 500,
        postgres: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sections" => o.sections = value()?.split(',').map(str::to_owned).collect(),
            "--ideas" => o.ideas = value()?.parse()?,
            "--searches" => o.searches = value()?.parse()?,
            "--similar" => o.similar = value()?.parse()?,
            "--small" => {
                o.ideas = 2000;
                o.searches = 100;
                o.similar = 50;
            }
            "--no-postgres" => o.postgres = false,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Res<()> {
    let o = options()?;
    let t = Instant::now();
    let c = corpus(o.ideas);
    eprintln!(
        "corpus of {} ideas built in {:.1} s",
        o.ideas,
        t.elapsed().as_secs_f64()
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut backends: Vec<&'static str> = vec!["SQLite"];
    if o.postgres {
        backends.push("PostgreSQL");
    }
    for backend in backends {
        let test_db = if backend == "SQLite" {
            TestDb::sqlite_migrated().await
        } else {
            match TestDb::postgres_migrated("bench_search").await {
                Some(db) => db,
                None => continue,
            }
        };
        let db = &test_db.db;
        let seconds = insert(db, &c).await?;
        if backend == "PostgreSQL" {
            // What autovacuum does after this many writes (before the bench could start): the
            // planner's row estimates and each term's share of ideas, which similar ideas read.
            db.execute_unprepared("ANALYZE ideas").await?;
        }
        notes.push(format!("{backend}: {} ideas seeded in {seconds:.1} s", o.ideas));
        if o.sections.iter().any(|s| s == "search") {
            let (row, note) = bench_search(db, &c, backend, o.searches).await?;
            rows.push(row);
            notes.push(note);
        }
        if o.sections.iter().any(|s| s == "similar") {
            let (row, found) = bench_similar(db, &c, backend, o.similar).await?;
            notes.push(format!(
                "{backend}: the near-duplicate's original was among the similar ideas in {found} of {} lookups",
                row.calls
            ));
            rows.push(row);
        }
        test_db.finish().await;
    }
    println!();
    println!("| backend | section | ideas | calls | p50 ms | p99 ms | max ms | results/call | goal | met |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut all_met = true;
    for r in &rows {
        let met = r.p99 <= 50.0;
        all_met &= met;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | p99 ≤ 50 ms | {} |",
            r.backend,
            r.section,
            o.ideas,
            r.calls,
            r.p50,
            r.p99,
            r.max,
            r.mean_results,
            if met { "yes" } else { "NO" }
        );
    }
    println!();
    for n in notes {
        println!("- {n}");
    }
    if !all_met {
        eprintln!("some goals were not met");
    }
    Ok(())
}
