//! Word lists the data set draws from: common Brazilian names, places, streets and plans.

pub(crate) const FEMALE_NAMES: &[&str] = &[
    "Maria", "Ana", "Francisca", "Antônia", "Adriana", "Juliana", "Márcia", "Fernanda", "Patrícia",
    "Aline", "Sandra", "Camila", "Amanda", "Bruna", "Jéssica", "Letícia", "Júlia", "Luciana",
    "Vanessa", "Mariana", "Gabriela", "Raimunda", "Conceição", "Tereza", "Débora", "Larissa",
    "Cláudia", "Rosângela", "Simone", "Beatriz", "Joana", "Lúcia", "Sebastiana", "Edilene",
];

pub(crate) const MALE_NAMES: &[&str] = &[
    "José", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz", "Marcos",
    "Luís", "Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Raimundo",
    "Rodrigo", "Manoel", "Mateus", "André", "Fernando", "Fábio", "Leonardo", "Gustavo", "Cícero",
    "Sebastião", "Edson", "Severino", "Valdir", "Jailson", "Wellington",
];

pub(crate) const SURNAMES: &[&str] = &[
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes",
    "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques",
    "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira",
    "Araújo", "Cavalcante", "Bezerra", "Monteiro", "Brito", "Holanda", "Albuquerque", "Sampaio",
];

pub(crate) const COMPANY_KINDS: &[&str] = &[
    "Mercadinho", "Padaria", "Farmácia", "Auto Peças", "Oficina", "Restaurante", "Clínica",
    "Escritório Contábil", "Papelaria", "Pousada", "Academia", "Loja", "Distribuidora",
];

pub(crate) const COMPANY_WORDS: &[&str] = &[
    "Boa Vista", "São José", "Nova Era", "Bom Jesus", "Central", "Estrela", "Primavera",
    "Sol Nascente", "Santa Luzia", "Progresso", "Vitória", "Esperança", "Paraíso", "Real",
];

pub(crate) const COMPANY_SUFFIXES: &[&str] = &["Ltda", "ME", "EIRELI", "Ltda ME", "S/A"];

/// (city, state, DDD, first digits of the CEP).
pub(crate) const CITIES: &[(&str, &str, u8, &str)] = &[
    ("Fortaleza", "CE", 85, "60"),
    ("Caucaia", "CE", 85, "61"),
    ("Sobral", "CE", 88, "62"),
    ("Juazeiro do Norte", "CE", 88, "63"),
    ("Teresina", "PI", 86, "64"),
    ("Parnaíba", "PI", 86, "64"),
    ("Natal", "RN", 84, "59"),
    ("Mossoró", "RN", 84, "59"),
    ("João Pessoa", "PB", 83, "58"),
    ("Campina Grande", "PB", 83, "58"),
    ("Recife", "PE", 81, "50"),
    ("Caruaru", "PE", 81, "55"),
    ("Petrolina", "PE", 87, "56"),
    ("Feira de Santana", "BA", 75, "44"),
    ("Vitória da Conquista", "BA", 77, "45"),
    ("São Luís", "MA", 98, "65"),
    ("Imperatriz", "MA", 99, "65"),
    ("Belém", "PA", 91, "66"),
    ("Uberlândia", "MG", 34, "38"),
    ("Montes Claros", "MG", 38, "39"),
    ("Londrina", "PR", 43, "86"),
    ("Chapecó", "SC", 49, "89"),
    ("Campinas", "SP", 19, "13"),
    ("Ribeirão Preto", "SP", 16, "14"),
    ("Goiânia", "GO", 62, "74"),
];

pub(crate) const STREETS: &[&str] = &[
    "Rua São José", "Rua Sete de Setembro", "Avenida Brasil", "Rua Quinze de Novembro",
    "Rua Tiradentes", "Rua Santos Dumont", "Avenida Getúlio Vargas", "Rua Rui Barbosa",
    "Rua Duque de Caxias", "Travessa da Paz", "Rua das Flores", "Rua Padre Cícero",
    "Avenida Bezerra de Menezes", "Rua Castro Alves", "Rua Monsenhor Tabosa", "Rua do Sol",
];

pub(crate) const DISTRICTS: &[&str] = &[
    "Centro", "Aldeota", "Messejana", "Jardim América", "Boa Vista", "São João", "Parque Alvorada",
    "Vila Nova", "Santa Luzia", "Conjunto Esperança", "Planalto", "Alto da Boa Vista",
];

pub(crate) const EMAIL_DOMAINS: &[&str] =
    &["gmail.com", "hotmail.com", "yahoo.com.br", "outlook.com", "bol.com.br", "uol.com.br"];

/// (plan name, monthly price in cents, for companies only).
pub(crate) const PLANS: &[(&str, i64, bool)] = &[
    ("FIBRA 100 MEGA", 7990, false),
    ("FIBRA 300 MEGA", 9990, false),
    ("FIBRA 500 MEGA", 11990, false),
    ("FIBRA 700 MEGA", 14990, false),
    ("FIBRA 1 GIGA", 19990, false),
    ("RÁDIO 20 MEGA", 6990, false),
    ("FIBRA 400 MEGA + TV", 13990, false),
    ("EMPRESARIAL 600 MEGA", 24990, true),
    ("EMPRESARIAL 1 GIGA IP FIXO", 39990, true),
];

/// (provider name, city, state).
pub(crate) const PROVIDERS: &[(&str, &str, &str)] = &[
    ("Conecta Sertão Internet", "Sobral", "CE"),
    ("Vale Net Telecom", "Juazeiro do Norte", "CE"),
    ("Nordeste Fibra", "Campina Grande", "PB"),
    ("Litoral Link", "Parnaíba", "PI"),
    ("Serra Verde Telecom", "Caruaru", "PE"),
];
