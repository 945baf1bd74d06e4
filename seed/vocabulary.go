package seed

// The vocabulary the generator draws from: plain data, chosen to look like a real tech job
// board across several markets.

type role struct {
	title string
	team  string
	// factor scales the market's base salary.
	factor float64
	tags   []string
	duties []string
}

var roles = []role{
	{"Backend Engineer", "Platform", 1.0, []string{"go", "postgresql", "kafka", "kubernetes", "grpc", "java", "python", "rust"},
		[]string{"design and run the services behind our public API", "own the event pipeline from ingestion to storage", "keep p99 latency low as traffic grows"}},
	{"Frontend Engineer", "Web", 0.95, []string{"typescript", "react", "next.js", "css", "accessibility", "graphql", "vue"},
		[]string{"build the screens our customers use every day", "raise the bar on accessibility and performance", "work hand in hand with design on our component library"}},
	{"Full-Stack Developer", "Product", 0.95, []string{"typescript", "node.js", "react", "postgresql", "ruby on rails", "django"},
		[]string{"ship features end to end, from schema to UI", "talk to customers and turn feedback into releases", "keep our test suite fast and trustworthy"}},
	{"Site Reliability Engineer", "Infrastructure", 1.1, []string{"kubernetes", "terraform", "aws", "prometheus", "linux", "gcp", "observability"},
		[]string{"keep our platform up across three regions", "automate away toil and run blameless post-mortems", "define SLOs with the product teams"}},
	{"Data Engineer", "Data", 1.05, []string{"python", "spark", "airflow", "dbt", "snowflake", "kafka", "sql"},
		[]string{"build reliable batch and streaming pipelines", "model the warehouse our analysts rely on", "improve data quality and lineage"}},
	{"Data Scientist", "Insights", 1.05, []string{"python", "statistics", "sql", "experimentation", "pandas", "r"},
		[]string{"design and analyse A/B tests", "build forecasting models for the business", "explain findings to non-technical stakeholders"}},
	{"Machine Learning Engineer", "AI", 1.2, []string{"python", "pytorch", "mlops", "llm", "kubernetes", "recommendation systems"},
		[]string{"train, ship and monitor models in production", "build our feature store and evaluation tooling", "make ranking and recommendations better"}},
	{"iOS Developer", "Mobile", 1.0, []string{"swift", "swiftui", "ios", "combine", "mobile"},
		[]string{"build our iOS app used by millions", "own app performance and crash-free rate", "ship weekly with feature flags"}},
	{"Android Developer", "Mobile", 1.0, []string{"kotlin", "android", "jetpack compose", "mobile", "coroutines"},
		[]string{"build our Android app with Jetpack Compose", "improve startup time and battery use", "share architecture decisions with the iOS team"}},
	{"DevOps Engineer", "Infrastructure", 1.0, []string{"ci/cd", "docker", "kubernetes", "ansible", "terraform", "azure"},
		[]string{"own our build and release pipelines", "harden and patch our fleet", "help teams deploy safely many times a day"}},
	{"Security Engineer", "Security", 1.15, []string{"appsec", "cloud security", "threat modeling", "pentesting", "soc 2", "iam"},
		[]string{"review designs and code for security issues", "run our bug bounty programme", "lead incident response"}},
	{"QA Automation Engineer", "Quality", 0.85, []string{"playwright", "cypress", "test automation", "python", "selenium"},
		[]string{"automate end-to-end tests across web and mobile", "coach teams on testing strategy", "keep flaky tests at zero"}},
	{"Engineering Manager", "Engineering", 1.35, []string{"leadership", "hiring", "agile", "mentoring", "delivery"},
		[]string{"lead a team of six engineers", "grow people through regular feedback", "balance delivery with technical health"}},
	{"Product Manager", "Product", 1.1, []string{"product management", "discovery", "roadmapping", "b2b", "saas", "analytics"},
		[]string{"own the roadmap of a customer-facing area", "run discovery with users every week", "define success metrics and follow them"}},
	{"Product Designer", "Design", 0.95, []string{"figma", "ux", "ui", "design systems", "prototyping", "user research"},
		[]string{"design flows from first sketch to polished UI", "evolve our design system", "test ideas with real users early"}},
	{"UX Researcher", "Design", 0.9, []string{"user research", "usability testing", "interviews", "surveys", "ux"},
		[]string{"plan and run qualitative and quantitative studies", "turn insights into product decisions", "build a research repository"}},
	{"Technical Writer", "Developer Experience", 0.85, []string{"documentation", "api docs", "markdown", "developer experience"},
		[]string{"write guides and API references developers love", "own the docs toolchain", "work with engineers on every release"}},
	{"Solutions Architect", "Customer Engineering", 1.15, []string{"pre-sales", "aws", "integration", "apis", "enterprise"},
		[]string{"design integrations with enterprise customers", "run technical workshops", "feed customer needs back to product"}},
	{"Customer Success Manager", "Customer Success", 0.8, []string{"customer success", "saas", "onboarding", "account management", "crm"},
		[]string{"onboard and grow a portfolio of B2B accounts", "reduce churn with proactive health checks", "be the voice of the customer internally"}},
	{"Marketing Manager", "Marketing", 0.9, []string{"growth", "seo", "content marketing", "b2b", "campaigns", "hubspot"},
		[]string{"plan and run multi-channel campaigns", "own our content calendar", "measure and report pipeline impact"}},
	{"Financial Analyst", "Finance", 0.9, []string{"fp&a", "excel", "forecasting", "sql", "budgeting"},
		[]string{"build the monthly forecast", "partner with budget owners", "improve our reporting with better tooling"}},
	{"Technical Recruiter", "People", 0.8, []string{"recruiting", "sourcing", "hiring", "employer branding"},
		[]string{"hire engineers and designers across Europe", "run a fair, structured interview process", "advise hiring managers"}},
	{"Support Engineer", "Support", 0.75, []string{"customer support", "troubleshooting", "sql", "zendesk", "apis"},
		[]string{"solve technical questions from customers", "reproduce bugs and work with engineering on fixes", "write help-centre articles"}},
	{"Database Administrator", "Infrastructure", 1.0, []string{"postgresql", "mysql", "replication", "backup", "performance tuning"},
		[]string{"run our PostgreSQL fleet", "plan capacity and upgrades", "tune queries with the product teams"}},
}

type market struct {
	// remote markets hire anywhere in regions; on-site ones in one city.
	remote      bool
	regions     []string
	countries   []string
	currency    string
	minorDigits int
	// base is the yearly salary of a mid-level engineer, in major units.
	base   float64
	tzMin  float64
	tzMax  float64
	hasTZ  bool
	weight int
}

var markets = []market{
	{true, []string{"Europe"}, []string{"DE", "FR", "NL", "ES", "PT", "PL", "IE", "SE", "AT", "BE"}, "EUR", 2, 70000, 0, 3, true, 10},
	{true, []string{"EMEA"}, []string{"GB", "DE", "FR", "NL", "ZA", "AE", "IL"}, "EUR", 2, 68000, 0, 4, true, 5},
	{true, []string{"North America"}, []string{"US", "CA"}, "USD", 2, 135000, -8, -4, true, 8},
	{true, []string{"North America", "LATAM"}, []string{"US", "CA", "MX", "BR", "AR", "CO"}, "USD", 2, 95000, -8, -3, true, 3},
	{true, []string{"APAC"}, []string{"AU", "SG", "JP", "IN", "NZ"}, "USD", 2, 90000, 5.5, 12, true, 3},
	{true, []string{"Worldwide"}, []string{}, "USD", 2, 100000, 0, 0, false, 4},
	{false, []string{"Berlin"}, []string{"DE"}, "EUR", 2, 72000, 0, 0, false, 6},
	{false, []string{"Paris"}, []string{"FR"}, "EUR", 2, 60000, 0, 0, false, 4},
	{false, []string{"Amsterdam"}, []string{"NL"}, "EUR", 2, 70000, 0, 0, false, 4},
	{false, []string{"Lisbon"}, []string{"PT"}, "EUR", 2, 45000, 0, 0, false, 2},
	{false, []string{"Dublin"}, []string{"IE"}, "EUR", 2, 75000, 0, 0, false, 2},
	{false, []string{"London"}, []string{"GB"}, "GBP", 2, 75000, 0, 0, false, 6},
	{false, []string{"Zurich"}, []string{"CH"}, "CHF", 2, 125000, 0, 0, false, 2},
	{false, []string{"Stockholm"}, []string{"SE"}, "SEK", 2, 650000, 0, 0, false, 2},
	{false, []string{"Warsaw"}, []string{"PL"}, "PLN", 2, 240000, 0, 0, false, 2},
	{false, []string{"New York"}, []string{"US"}, "USD", 2, 165000, 0, 0, false, 5},
	{false, []string{"San Francisco Bay Area"}, []string{"US"}, "USD", 2, 185000, 0, 0, false, 5},
	{false, []string{"Toronto"}, []string{"CA"}, "CAD", 2, 125000, 0, 0, false, 2},
	{false, []string{"Sydney"}, []string{"AU"}, "AUD", 2, 145000, 0, 0, false, 2},
	{false, []string{"Singapore"}, []string{"SG"}, "SGD", 2, 110000, 0, 0, false, 2},
	{false, []string{"Bangalore"}, []string{"IN"}, "INR", 2, 2800000, 0, 0, false, 2},
	{false, []string{"Tokyo"}, []string{"JP"}, "JPY", 0, 9000000, 0, 0, false, 2},
	{false, []string{"São Paulo"}, []string{"BR"}, "BRL", 2, 180000, 0, 0, false, 2},
}

var companyFirst = []string{"Northwind", "Blue Fjord", "Kestrel", "Lumen", "Copperleaf", "Quartz", "Harbor", "Aurora",
	"Silverline", "Brightpath", "Redwood", "Nimbus", "Tidal", "Graphite", "Juniper", "Orbital", "Meadow", "Polar",
	"Ember", "Vantage", "Saffron", "Granite", "Helix", "Lighthouse", "Mosaic", "Pinecone", "Riverbend", "Solstice"}

var companySecond = []string{"Analytics", "Labs", "Systems", "Health", "Logistics", "Payments", "Robotics", "Energy",
	"Studio", "Software", "Bank", "Mobility", "Foods", "Games", "Security", "Cloud", "Insurance", "Learning", "Travel", "Media"}

var companyPitch = []string{
	"We build software that helps small businesses get paid on time.",
	"We make logistics greener by routing millions of parcels a day.",
	"Our platform lets hospitals share data safely.",
	"We are a profitable, remote-first team of 80 people.",
	"We help teachers plan lessons in minutes instead of hours.",
	"Our products run in more than 40 countries.",
	"We turn satellite imagery into insights for farmers.",
	"We are a seed-stage startup backed by great investors.",
	"We build the payments infrastructure for marketplaces.",
	"We make games played by millions every month.",
}

var perks = []string{
	"flexible hours", "a yearly learning budget", "30 days of paid holiday", "a home-office allowance",
	"equity for everyone", "parental leave well beyond the legal minimum", "a four-day week in summer",
	"company retreats twice a year", "private health insurance", "a relocation package",
}

var firstNames = []string{"Ada", "Alan", "Amara", "Ana", "Aditi", "Bjorn", "Chen", "Chloe", "Daniel", "Diego", "Elena",
	"Emeka", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jana", "Jonas", "Kai", "Karim", "Lea",
	"Leila", "Liam", "Lucia", "Maya", "Mateo", "Mei", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Sara",
	"Sofia", "Tariq", "Tomas", "Yuki", "Zoe"}

var lastNames = []string{"Andersen", "Banerjee", "Costa", "Dubois", "Eriksson", "Fernandez", "Garcia", "Haddad",
	"Ivanova", "Jensen", "Kowalski", "Li", "Martin", "Nakamura", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
	"Schmidt", "Silva", "Tanaka", "Usman", "Van Dijk", "Wang", "Weber", "Yilmaz", "Zhang", "Murphy", "Kim"}

var coverLetters = []string{
	"I have followed your product for a while and would love to help build it.",
	"My last role was very close to this one, and I am looking for a team with a stronger engineering culture.",
	"I am relocating soon and your team's mission matches what I care about.",
	"I enjoy hard problems at scale and believe my experience fits what you describe.",
	"I am moving from a large company to a smaller one where I can have more impact.",
	"",
}

var paymentFailures = []string{"card_declined", "insufficient_funds", "expired_card", "authentication_required", "processing_error"}
