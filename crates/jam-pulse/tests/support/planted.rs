//! The planted corpus: ideas written from templates, each about one known topic, in English or
//! French, with noise. It is synthetic (generated here, with a fixed seed), not collected from a
//! real jam: each topic has its own vocabulary of 30 to 40 words per language, drawn at random into
//! per-language sentence templates. Noise:
//! - every idea also carries generic jam words shared by all topics ("team", "projet", ...);
//! - about a third of the ideas borrow one word of another topic;
//! - one word in twenty has a typo (two letters swapped);
//! - one idea in ten is off-topic chatter (generic words and words of three random topics), whose
//!   planted topic is `noise`.
//!
//! `tests/data/planted.tsv` is this generator's output for 8 topics × 2 languages × 100 ideas plus
//! 160 noise ideas (`cargo run -p jam-pulse --example planted_corpus` writes it again); the bench
//! draws 100,000 ideas from the same generator.

#![allow(dead_code)]

/// One generated idea: its planted topic (`"transport/en"`, …, or `"noise"`) and its text.
pub struct PlantedIdea {
    pub topic: String,
    pub text: String,
}

struct Topic {
    name: &'static str,
    en: &'static [&'static str],
    fr: &'static [&'static str],
}

const TOPICS: &[Topic] = &[
    Topic {
        name: "transport",
        en: &[
            "bus",
            "buses",
            "train",
            "trains",
            "commute",
            "commuting",
            "bicycle",
            "bike",
            "bikes",
            "parking",
            "carpool",
            "carpooling",
            "shuttle",
            "traffic",
            "subway",
            "metro",
            "station",
            "route",
            "routes",
            "schedule",
            "tram",
            "lanes",
            "cycling",
            "car",
            "cars",
            "ride",
            "rides",
            "transit",
            "timetable",
            "passengers",
            "fares",
            "ticket",
        ],
        fr: &[
            "bus",
            "train",
            "trains",
            "trajet",
            "trajets",
            "vélo",
            "vélos",
            "stationnement",
            "covoiturage",
            "navette",
            "navettes",
            "circulation",
            "métro",
            "gare",
            "gares",
            "itinéraire",
            "horaires",
            "tramway",
            "pistes",
            "cyclables",
            "voiture",
            "voitures",
            "transports",
            "passagers",
            "billet",
            "billets",
            "abonnement",
            "embouteillages",
            "arrêt",
            "arrêts",
            "parking",
            "trottinettes",
        ],
    },
    Topic {
        name: "energy",
        en: &[
            "solar",
            "panels",
            "wind",
            "turbines",
            "energy",
            "electricity",
            "renewable",
            "battery",
            "batteries",
            "grid",
            "power",
            "heating",
            "insulation",
            "emissions",
            "carbon",
            "consumption",
            "lighting",
            "led",
            "thermostat",
            "roof",
            "roofs",
            "kilowatt",
            "efficiency",
            "heat",
            "pumps",
            "geothermal",
            "meters",
            "bills",
            "climate",
            "fossil",
            "fuel",
        ],
        fr: &[
            "solaire",
            "panneaux",
            "éolien",
            "éoliennes",
            "énergie",
            "électricité",
            "renouvelable",
            "renouvelables",
            "batterie",
            "batteries",
            "réseau",
            "chauffage",
            "isolation",
            "émissions",
            "carbone",
            "consommation",
            "éclairage",
            "thermostat",
            "toit",
            "toitures",
            "kilowatt",
            "efficacité",
            "chaleur",
            "pompes",
            "géothermie",
            "compteurs",
            "factures",
            "climat",
            "fossiles",
            "combustible",
            "photovoltaïque",
        ],
    },
    Topic {
        name: "remote",
        en: &[
            "remote",
            "home",
            "telework",
            "hybrid",
            "office",
            "offices",
            "desk",
            "desks",
            "videoconference",
            "video",
            "calls",
            "meetings",
            "laptop",
            "headset",
            "flexible",
            "hours",
            "coworking",
            "hotdesking",
            "commute",
            "wifi",
            "broadband",
            "distributed",
            "async",
            "asynchronous",
            "timezone",
            "timezones",
            "chat",
            "camera",
            "workspace",
            "ergonomic",
            "chair",
        ],
        fr: &[
            "télétravail",
            "domicile",
            "maison",
            "hybride",
            "bureau",
            "bureaux",
            "visioconférence",
            "vidéo",
            "appels",
            "réunions",
            "ordinateur",
            "portable",
            "casque",
            "flexibles",
            "horaires",
            "coworking",
            "partagés",
            "connexion",
            "internet",
            "distance",
            "asynchrone",
            "fuseau",
            "fuseaux",
            "messagerie",
            "caméra",
            "ergonomique",
            "fauteuil",
            "écran",
            "écrans",
            "jours",
            "semaine",
        ],
    },
    Topic {
        name: "training",
        en: &[
            "training",
            "courses",
            "course",
            "learning",
            "mentoring",
            "mentor",
            "mentors",
            "skills",
            "workshop",
            "workshops",
            "certification",
            "certifications",
            "coaching",
            "onboarding",
            "tutorials",
            "elearning",
            "classes",
            "teaching",
            "teacher",
            "knowledge",
            "curriculum",
            "lessons",
            "apprenticeship",
            "career",
            "development",
            "seminars",
            "library",
            "books",
            "study",
            "exam",
            "exams",
        ],
        fr: &[
            "formation",
            "formations",
            "cours",
            "apprentissage",
            "mentorat",
            "mentor",
            "tuteurs",
            "compétences",
            "atelier",
            "ateliers",
            "certification",
            "certifications",
            "accompagnement",
            "intégration",
            "tutoriels",
            "enseignement",
            "enseignant",
            "connaissances",
            "programme",
            "leçons",
            "alternance",
            "carrière",
            "développement",
            "séminaires",
            "bibliothèque",
            "livres",
            "étude",
            "examen",
            "examens",
            "diplôme",
            "stagiaires",
        ],
    },
    Topic {
        name: "health",
        en: &[
            "health",
            "wellbeing",
            "stress",
            "burnout",
            "mental",
            "sport",
            "gym",
            "fitness",
            "yoga",
            "doctor",
            "nurse",
            "medical",
            "checkup",
            "sleep",
            "nutrition",
            "meditation",
            "therapy",
            "counselling",
            "anxiety",
            "exercise",
            "running",
            "massage",
            "posture",
            "illness",
            "sick",
            "leave",
            "insurance",
            "vaccination",
            "clinic",
            "relaxation",
            "breaks",
        ],
        fr: &[
            "santé",
            "bien",
            "être",
            "stress",
            "épuisement",
            "mentale",
            "sport",
            "salle",
            "forme",
            "yoga",
            "médecin",
            "infirmière",
            "médical",
            "bilan",
            "sommeil",
            "nutrition",
            "méditation",
            "thérapie",
            "psychologue",
            "anxiété",
            "exercice",
            "course",
            "massage",
            "posture",
            "maladie",
            "malade",
            "arrêt",
            "mutuelle",
            "vaccination",
            "relaxation",
            "pauses",
        ],
    },
    Topic {
        name: "customers",
        en: &[
            "customer",
            "customers",
            "client",
            "clients",
            "support",
            "complaints",
            "complaint",
            "feedback",
            "satisfaction",
            "helpdesk",
            "hotline",
            "tickets",
            "response",
            "survey",
            "surveys",
            "loyalty",
            "service",
            "returns",
            "refund",
            "refunds",
            "callback",
            "chatbot",
            "waiting",
            "queue",
            "experience",
            "retention",
            "churn",
            "agents",
            "escalation",
            "resolution",
            "orders",
        ],
        fr: &[
            "client",
            "clients",
            "clientèle",
            "assistance",
            "réclamations",
            "réclamation",
            "retours",
            "satisfaction",
            "hotline",
            "tickets",
            "réponse",
            "enquête",
            "enquêtes",
            "fidélité",
            "fidélisation",
            "service",
            "remboursement",
            "remboursements",
            "rappel",
            "chatbot",
            "attente",
            "file",
            "expérience",
            "conseillers",
            "escalade",
            "résolution",
            "commandes",
            "avis",
            "plaintes",
            "accueil",
            "usagers",
        ],
    },
    Topic {
        name: "waste",
        en: &[
            "recycling",
            "recycle",
            "waste",
            "plastic",
            "plastics",
            "bins",
            "bin",
            "compost",
            "composting",
            "paper",
            "packaging",
            "bottles",
            "cups",
            "reusable",
            "disposable",
            "landfill",
            "sorting",
            "garbage",
            "trash",
            "cardboard",
            "glass",
            "cans",
            "zero",
            "litter",
            "donation",
            "reuse",
            "repair",
            "printer",
            "printing",
            "cartridges",
            "straws",
        ],
        fr: &[
            "recyclage",
            "recycler",
            "déchets",
            "plastique",
            "plastiques",
            "poubelles",
            "poubelle",
            "compost",
            "compostage",
            "papier",
            "emballages",
            "bouteilles",
            "gobelets",
            "réutilisables",
            "jetables",
            "décharge",
            "tri",
            "ordures",
            "carton",
            "cartons",
            "verre",
            "canettes",
            "zéro",
            "gaspillage",
            "dons",
            "réemploi",
            "réparation",
            "imprimante",
            "impressions",
            "cartouches",
            "pailles",
        ],
    },
    Topic {
        name: "security",
        en: &[
            "security",
            "password",
            "passwords",
            "phishing",
            "malware",
            "virus",
            "antivirus",
            "firewall",
            "encryption",
            "encrypted",
            "authentication",
            "mfa",
            "login",
            "breach",
            "breaches",
            "hackers",
            "hacker",
            "vulnerability",
            "vulnerabilities",
            "patch",
            "patches",
            "backup",
            "backups",
            "privacy",
            "data",
            "access",
            "permissions",
            "token",
            "tokens",
            "audit",
            "attacks",
            "ransomware",
        ],
        fr: &[
            "sécurité",
            "mot",
            "passe",
            "hameçonnage",
            "logiciels",
            "malveillants",
            "virus",
            "antivirus",
            "pare",
            "feu",
            "chiffrement",
            "chiffrées",
            "authentification",
            "identifiants",
            "connexion",
            "fuite",
            "fuites",
            "pirates",
            "pirate",
            "vulnérabilité",
            "vulnérabilités",
            "correctifs",
            "sauvegarde",
            "sauvegardes",
            "confidentialité",
            "données",
            "accès",
            "droits",
            "jetons",
            "audit",
            "attaques",
            "rançongiciel",
        ],
    },
];

const GENERIC_EN: &[&str] = &[
    "team",
    "company",
    "project",
    "people",
    "idea",
    "employees",
    "budget",
    "time",
    "plan",
    "process",
    "everyone",
    "staff",
    "managers",
    "year",
    "week",
    "colleagues",
    "initiative",
    "policy",
    "cost",
    "site",
];
const GENERIC_FR: &[&str] = &[
    "équipe",
    "entreprise",
    "projet",
    "gens",
    "idée",
    "salariés",
    "budget",
    "temps",
    "plan",
    "processus",
    "collègues",
    "direction",
    "année",
    "semaine",
    "initiative",
    "politique",
    "coût",
    "site",
    "personnel",
    "managers",
];

/// Verbs and adjectives any idea may use, drawn independently of the topic.
const VERBS_EN: &[&str] = &[
    "improve",
    "offer",
    "create",
    "build",
    "launch",
    "support",
    "fund",
    "start",
    "share",
    "test",
    "expand",
    "promote",
    "organise",
    "reduce",
    "simplify",
    "review",
    "encourage",
    "develop",
    "provide",
    "adopt",
];
const ADJECTIVES_EN: &[&str] = &[
    "better",
    "great",
    "useful",
    "simple",
    "cheaper",
    "faster",
    "clearer",
    "important",
    "easier",
    "new",
    "bigger",
    "good",
    "practical",
    "smarter",
    "fair",
    "modern",
    "open",
    "safer",
    "stronger",
    "local",
];
const VERBS_FR: &[&str] = &[
    "améliorer",
    "proposer",
    "créer",
    "construire",
    "lancer",
    "soutenir",
    "financer",
    "démarrer",
    "partager",
    "tester",
    "étendre",
    "promouvoir",
    "organiser",
    "réduire",
    "simplifier",
    "revoir",
    "encourager",
    "développer",
    "fournir",
    "adopter",
];
const ADJECTIVES_FR: &[&str] = &[
    "meilleur",
    "utile",
    "simple",
    "économique",
    "rapide",
    "clair",
    "important",
    "facile",
    "nouveau",
    "grand",
    "bon",
    "pratique",
    "malin",
    "juste",
    "moderne",
    "ouvert",
    "sûr",
    "solide",
    "local",
    "efficace",
];

/// Templates: `{t}` a topic word, `{g}` a generic noun, `{v}` a generic verb, `{a}` a generic
/// adjective.
const TEMPLATES_EN: &[&str] = &[
    "I think we should {v} {t} and {t} for the {g}",
    "Why not {v} {t} with {a} {t} for every {g}",
    "Our {g} could {v} {t} so that {t} gets {a}",
    "It would be {a} to {v} more {t} near the {g}",
    "Let us {v} {t} and {t} this {g}",
    "The {t} is a {a} problem for the {g} because of the {t}",
    "Please {v} {t}, {t} and {t} in the next {g}",
    "We need a {a} {g} about {t} and the {t}",
    "{a} {t} would help the {g} to {v} {t}",
    "How about we {v} the {t} before the {g}",
];
const TEMPLATES_FR: &[&str] = &[
    "Je pense qu'il faudrait {v} {t} et {t} pour {g}",
    "Pourquoi ne pas {v} {t} avec des {t} {a} pour toute {g}",
    "Notre {g} pourrait {v} {t} pour que {t} soit {a}",
    "Ce serait {a} de {v} plus de {t} près du {g}",
    "Il faut {v} {t} et {t} cette {g}",
    "Le {t} est un problème {a} pour la {g} à cause des {t}",
    "Merci de {v} {t}, {t} et {t} dans le prochain {g}",
    "Il nous faut une {g} {a} sur {t} et les {t}",
    "Des {t} {a} aideraient la {g} à {v} {t}",
    "Et si on allait {v} les {t} avant la {g}",
];
const TITLES_EN: &[&str] = &["{a} {t} and {t}", "{v} {t} for the {g}", "{t} {t}", "{v} {t}"];
const TITLES_FR: &[&str] = &["{t} et {t} {a}", "{v} {t} pour la {g}", "{t} {t}", "{v} {t}"];

/// The splitmix64 generator (fixed seed, same output everywhere).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, per_thousand: u64) -> bool {
        self.next() % 1000 < per_thousand
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() > 3 && rng.chance(50) {
        let i = 1 + rng.below(chars.len() - 2);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

fn fill(rng: &mut Rng, template: &str, topic: &[&str], generic: &[&str], borrowed: Option<&str>) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut borrowed = borrowed;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let slot = &rest[at..at + 3];
        let word = match slot {
            "{t}" => match borrowed.take() {
                Some(word) if rng.chance(500) => word,
                other => {
                    borrowed = other;
                    rng.pick(topic)
                }
            },
            "{v}" => rng.pick(if generic[0] == GENERIC_FR[0] {
                VERBS_FR
            } else {
                VERBS_EN
            }),
            "{a}" => rng.pick(if generic[0] == GENERIC_FR[0] {
                ADJECTIVES_FR
            } else {
                ADJECTIVES_EN
            }),
            _ => rng.pick(generic),
        };
        out.push_str(&typo(rng, word));
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

fn idea(rng: &mut Rng, topic: usize, french: bool) -> String {
    let t = &TOPICS[topic];
    let (words, generic, templates, titles) = if french {
        (t.fr, GENERIC_FR, TEMPLATES_FR, TITLES_FR)
    } else {
        (t.en, GENERIC_EN, TEMPLATES_EN, TITLES_EN)
    };
    let borrowed = rng.chance(330).then(|| {
        let other = &TOPICS[(topic + 1 + rng.below(TOPICS.len() - 1)) % TOPICS.len()];
        rng.pick(if french { other.fr } else { other.en })
    });
    let title_template = rng_pick_owned(rng, titles);
    let title = fill(rng, title_template, words, generic, None);
    let sentences = 1 + rng.below(2);
    let mut body = Vec::new();
    for s in 0..sentences {
        let template = rng_pick_owned(rng, templates);
        body.push(fill(
            rng,
            template,
            words,
            generic,
            if s == 0 { borrowed } else { None },
        ));
    }
    format!("{title}. {}.", body.join(". "))
}

fn rng_pick_owned(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.below(items.len())]
}

fn noise(rng: &mut Rng, french: bool) -> String {
    let generic = if french { GENERIC_FR } else { GENERIC_EN };
    let mut words: Vec<String> = (0..4).map(|_| rng.pick(generic).to_string()).collect();
    for _ in 0..3 {
        let t = &TOPICS[rng.below(TOPICS.len())];
        words.push(rng.pick(if french { t.fr } else { t.en }).to_string());
    }
    let opener = if french {
        "Juste une remarque sur"
    } else {
        "Just a thought about"
    };
    format!("{opener} {}", words.join(" "))
}

/// `per_topic` ideas per topic and language, plus one noise idea per ten of them, shuffled by a
/// fixed seed.
pub fn generate(per_topic: usize, seed: u64) -> Vec<PlantedIdea> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for (topic, t) in TOPICS.iter().enumerate() {
        for french in [false, true] {
            for _ in 0..per_topic {
                let text = idea(&mut rng, topic, french);
                out.push(PlantedIdea {
                    topic: format!("{}/{}", t.name, if french { "fr" } else { "en" }),
                    text,
                });
            }
        }
    }
    let noise_count = out.len() / 10;
    for i in 0..noise_count {
        out.push(PlantedIdea {
            topic: "noise".into(),
            text: noise(&mut rng, i % 2 == 1),
        });
    }
    for i in (1..out.len()).rev() {
        let j = rng.below(i + 1);
        out.swap(i, j);
    }
    out
}

/// Topics, languages and ideas per topic and language of the fixture.
pub const FIXTURE_TOPICS: usize = 8;
pub const FIXTURE_PER_TOPIC: usize = 100;
pub const FIXTURE_SEED: u64 = 20_261_210;

/// The fixture as TSV: `topic<TAB>text` per line.
pub fn fixture_tsv() -> String {
    generate(FIXTURE_PER_TOPIC, FIXTURE_SEED)
        .into_iter()
        .map(|idea| format!("{}\t{}\n", idea.topic, idea.text))
        .collect()
}
