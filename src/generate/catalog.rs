//! The example shop's catalog: about 300 products whose names, families and
//! levels carry the cross-selling stories (skincare routine, running kit and
//! shoe upgrades, the Lumen lighting ecosystem, book series, fitness
//! memberships), plus a long tail of everyday products and one staple per
//! category that everybody buys.
//!
//! Names and families are fixed tables; prices of filler products, ratings,
//! stock, launch dates and popularity are drawn from the seed.

use super::money::Cents;
use super::rng::Rng;
use super::{DAY, HOUR, rfc3339};

/// Euro price as a percentage of the USD base price.
pub const EUR_RATE_PERCENT: i64 = 92;
/// Pound price as a percentage of the USD base price.
pub const GBP_RATE_PERCENT: i64 = 79;

/// What part a product plays in the generated behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Soap,
    Moisturiser,
    HandCream,
    Skincare,
    RoadShoe,
    TrailShoe,
    Socks,
    Recovery,
    RunningGear,
    LumenStarter,
    LumenBridgePro,
    LumenAccessory,
    SmartHome,
    SeriesBook,
    Book,
    BookAccessory,
    Membership,
    FitnessGear,
    Everyday,
}

/// Book genres, which are also catalog categories.
pub const GENRES: [&str; 3] = ["Historical Fiction", "Mystery", "Science Fiction"];

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub category: &'static str,
    pub manufacturer: &'static str,
    /// Base price in USD.
    pub price: Cents,
    pub eur: Cents,
    pub gbp: Cents,
    /// Rating in tenths (45 = 4.5 stars); `None` when nobody reviewed it yet.
    pub rating_tenths: Option<u32>,
    pub rating_count: u32,
    pub stock: u32,
    /// Unix seconds.
    pub created_at: i64,
    pub family: Option<&'static str>,
    pub level: Option<u8>,
    pub compare_at: Option<Cents>,
    /// Relative weight when a customer picks "something from this shelf".
    pub popularity: u32,
    pub role: Role,
    /// The one product of its category everybody buys; always old and in stock.
    pub staple: bool,
    /// Part of a story; launched before the event window so events never
    /// precede it.
    pub core: bool,
    /// Index of the staple of the same category, used when a product did not
    /// exist yet at the time of an event.
    pub fallback: usize,
}

/// Products to pick from with probability proportional to popularity.
#[derive(Debug, Clone, Default)]
pub struct Group {
    items: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Group {
    fn push(&mut self, product: usize, weight: u32) {
        let before = self.cumulative.last().copied().unwrap_or(0);
        self.items.push(product);
        self.cumulative.push(before + u64::from(weight.max(1)));
    }

    pub fn items(&self) -> &[usize] {
        &self.items
    }

    pub fn pick(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("group is never empty");
        let ticket = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= ticket);
        self.items[i]
    }
}

/// A book series: volumes in reading order, all in one genre.
#[derive(Debug, Clone)]
pub struct Series {
    pub genre: usize,
    pub volumes: Vec<usize>,
    pub weight: u32,
}

/// The shelves the behaviour simulation picks from.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub soaps: Group,
    pub moisturisers: Group,
    pub hand_creams: Group,
    pub skincare_other: Group,
    pub skincare_all: Group,
    /// Stride road shoes by level (index 0 = level 1).
    pub road_shoes: Vec<usize>,
    /// Trailhawk trail shoes by level.
    pub trail_shoes: Vec<usize>,
    pub socks: Group,
    pub recovery: Group,
    pub running_gear: Group,
    pub running_all: Group,
    pub lumen_starter: usize,
    pub lumen_bridge_pro: usize,
    pub lumen_accessories: Group,
    pub smart_home: Group,
    pub lighting_all: Group,
    pub series: Vec<Series>,
    /// Standalone books by genre (index into `GENRES`).
    pub standalone: Vec<Group>,
    pub book_accessories: Group,
    /// All books and book accessories, Historical Fiction weighted up.
    pub books_all: Group,
    /// FitTrack memberships by level.
    pub memberships: Vec<usize>,
    pub fitness_gear: Group,
    pub fitness_all: Group,
    /// Everyday categories (coffee, kitchen, stationery, …), one group each.
    pub everyday: Vec<Group>,
    /// Cheap category staples, for add-on lines in any order.
    pub staples: Group,
    /// Products people buy as gifts.
    pub gifts: Group,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub groups: Groups,
}

impl Catalog {
    /// `product` if it existed at `ts`, else the staple of its category.
    pub fn available(&self, product: usize, ts: i64) -> usize {
        let p = &self.products[product];
        if p.created_at <= ts {
            product
        } else {
            p.fallback
        }
    }

    /// Build the catalog for a seed, an event window `[start, end)` (unix seconds).
    pub fn build(seed: u64, start: i64, end: i64) -> Catalog {
        let mut b = Builder {
            rng: Rng::new(seed, 0),
            start,
            end,
            products: Vec::new(),
            series: Vec::new(),
        };
        add_skincare(&mut b);
        add_running(&mut b);
        add_lighting(&mut b);
        add_books(&mut b);
        add_fitness(&mut b);
        add_everyday(&mut b);
        b.launch_new_arrivals();
        b.finish()
    }
}

struct Builder {
    rng: Rng,
    start: i64,
    end: i64,
    products: Vec<Product>,
    series: Vec<Series>,
}

impl Builder {
    /// A story product with a fixed price (cents) and popularity.
    fn core(
        &mut self,
        name: &str,
        category: &'static str,
        maker: &'static str,
        price: i64,
        role: Role,
        popularity: u32,
    ) -> usize {
        self.add(name, category, maker, Cents(price), role, popularity, true)
    }

    /// Everyday products with drawn prices (whole units `lo..=hi`) and a long-tail popularity.
    fn fillers(
        &mut self,
        names: &[&str],
        category: &'static str,
        makers: &[&'static str],
        role: Role,
        (lo, hi): (i64, i64),
    ) -> Vec<usize> {
        let mut added = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let units = self.rng.range(lo, hi + 1);
            let price = match self.rng.below(20) {
                0..=11 => Cents(units * 100 - 1),
                12..=16 => Cents(units * 100),
                _ => Cents(units * 100 - 50),
            };
            // A long tail: most products are rarely chosen, a few often.
            let u = self.rng.below(100) as u32;
            let popularity = 1 + u * u * u / 16_000;
            let maker = makers[i % makers.len()];
            added.push(self.add(name, category, maker, price, role, popularity, false));
        }
        added
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        category: &'static str,
        maker: &'static str,
        price: Cents,
        role: Role,
        popularity: u32,
        core: bool,
    ) -> usize {
        let rng = &mut self.rng;
        let created_at = if core {
            self.start - rng.range(30 * DAY, 900 * DAY)
        } else {
            self.end - rng.range(30 * DAY, 1100 * DAY)
        };
        let created_at = created_at - created_at.rem_euclid(HOUR);
        let (rating_tenths, rating_count) = if core {
            // Story products read well in emails: well reviewed.
            (
                Some(rng.between(38, 49)),
                rng.between(40, 40 + popularity * 40),
            )
        } else if rng.percent(8) {
            (None, 0)
        } else {
            let tenths = match rng.below(20) {
                0 => rng.between(10, 29),
                1..=3 => rng.between(30, 39),
                _ => rng.between(40, 50),
            };
            (Some(tenths), rng.between(1, 5 + popularity * 30))
        };
        let membership = role == Role::Membership;
        let stock = if membership {
            9999
        } else if !core && rng.percent(7) {
            0
        } else {
            rng.between(3, 400)
        };
        let compare_at = if !membership && rng.percent(8) {
            Some(price.convert(125))
        } else {
            None
        };
        let index = self.products.len();
        self.products.push(Product {
            id: format!("P{:04}", index + 1),
            name: name.to_string(),
            category,
            manufacturer: maker,
            price,
            eur: price.convert(EUR_RATE_PERCENT),
            gbp: price.convert(GBP_RATE_PERCENT),
            rating_tenths,
            rating_count,
            stock,
            created_at,
            family: None,
            level: None,
            compare_at,
            popularity,
            role,
            staple: false,
            core,
            fallback: index,
        });
        index
    }

    fn family(&mut self, product: usize, family: &'static str, level: Option<u8>) {
        self.products[product].family = Some(family);
        self.products[product].level = level;
    }

    /// Mark the staple of its category: old, in stock, popular.
    fn staple(&mut self, product: usize) {
        let start = self.start;
        let p = &mut self.products[product];
        p.staple = true;
        p.core = true;
        p.created_at = p.created_at.min(start - 30 * DAY);
        p.created_at -= p.created_at.rem_euclid(HOUR);
        if p.stock == 0 {
            p.stock = 250;
        }
        p.popularity = p.popularity.max(60);
        if p.rating_tenths.is_none() {
            p.rating_tenths = Some(44);
            p.rating_count = 900;
        }
    }

    /// About 5 % of products (never story products) launched in the last
    /// 14 days before `end`, mostly without reviews yet.
    fn launch_new_arrivals(&mut self) {
        let wanted = (self.products.len() * 5).div_ceil(100);
        let mut launched = 0;
        while launched < wanted {
            let i = self.rng.below(self.products.len() as u64) as usize;
            let end = self.end;
            if self.products[i].core || self.products[i].created_at >= end - 14 * DAY {
                continue;
            }
            let at = end - self.rng.range(2 * HOUR, 14 * DAY);
            let p = &mut self.products[i];
            p.created_at = at - at.rem_euclid(HOUR);
            p.stock = p.stock.max(20);
            if self.rng.percent(70) {
                p.rating_tenths = None;
                p.rating_count = 0;
            } else {
                p.rating_count = p.rating_count.min(12);
            }
            launched += 1;
        }
    }

    fn finish(mut self) -> Catalog {
        // Fallbacks: the staple of each category.
        for i in 0..self.products.len() {
            let category = self.products[i].category;
            let staple = self
                .products
                .iter()
                .position(|p| p.staple && p.category == category)
                .unwrap_or_else(|| panic!("category {category} has no staple"));
            self.products[i].fallback = staple;
        }
        let mut g = Groups {
            standalone: vec![Group::default(); GENRES.len()],
            ..Groups::default()
        };
        let mut everyday_categories: Vec<&'static str> = Vec::new();
        for (i, p) in self.products.iter().enumerate() {
            let w = p.popularity;
            match p.role {
                Role::Soap => g.soaps.push(i, w),
                Role::Moisturiser => g.moisturisers.push(i, w),
                Role::HandCream => g.hand_creams.push(i, w),
                Role::Skincare => g.skincare_other.push(i, w),
                Role::RoadShoe => g.road_shoes.push(i),
                Role::TrailShoe => g.trail_shoes.push(i),
                Role::Socks => g.socks.push(i, w),
                Role::Recovery => g.recovery.push(i, w),
                Role::RunningGear => g.running_gear.push(i, w),
                Role::LumenStarter => g.lumen_starter = i,
                Role::LumenBridgePro => g.lumen_bridge_pro = i,
                Role::LumenAccessory => g.lumen_accessories.push(i, w),
                Role::SmartHome => g.smart_home.push(i, w),
                Role::SeriesBook => {}
                Role::Book => {
                    let genre = genre_of(p.category);
                    g.standalone[genre].push(i, w);
                }
                Role::BookAccessory => g.book_accessories.push(i, w),
                Role::Membership => g.memberships.push(i),
                Role::FitnessGear => g.fitness_gear.push(i, w),
                Role::Everyday => {
                    let k = match everyday_categories.iter().position(|&c| c == p.category) {
                        Some(k) => k,
                        None => {
                            everyday_categories.push(p.category);
                            g.everyday.push(Group::default());
                            everyday_categories.len() - 1
                        }
                    };
                    g.everyday[k].push(i, w);
                }
            }
            match p.role {
                Role::Soap | Role::Moisturiser | Role::HandCream | Role::Skincare => {
                    g.skincare_all.push(i, w)
                }
                Role::RoadShoe
                | Role::TrailShoe
                | Role::Socks
                | Role::Recovery
                | Role::RunningGear => g.running_all.push(i, w),
                Role::LumenStarter
                | Role::LumenBridgePro
                | Role::LumenAccessory
                | Role::SmartHome => g.lighting_all.push(i, w),
                Role::SeriesBook | Role::Book | Role::BookAccessory => {
                    // Browsers love Historical Fiction.
                    let boost = if p.category == GENRES[0] { 4 } else { 1 };
                    g.books_all.push(i, w * boost)
                }
                Role::Membership | Role::FitnessGear => g.fitness_all.push(i, w),
                Role::Everyday => {}
            }
            // Cheap staples are the add-ons anybody drops into any order.
            if p.staple && p.role != Role::Membership && p.price <= Cents(4000) {
                g.staples.push(i, w);
            }
            let giftable = matches!(p.role, Role::Book | Role::BookAccessory | Role::HandCream)
                || matches!(
                    p.category,
                    "Coffee & Tea" | "Home Decor" | "Snacks & Pantry"
                );
            if giftable {
                g.gifts.push(i, w);
            }
        }
        g.series = self.series;
        Catalog {
            products: self.products,
            groups: g,
        }
    }
}

fn genre_of(category: &str) -> usize {
    GENRES
        .iter()
        .position(|&g| g == category)
        .expect("a book category is a genre")
}

const MAISON: &str = "Maison Douce";
const BOTANICS: &str = "Pure Botanics";

fn add_skincare(b: &mut Builder) {
    let body = "Body Care";
    let face = "Face Care";
    let hand = "Hand Care";
    let soap = b.core(
        "Gentle Cleansing Body Soap",
        body,
        MAISON,
        899,
        Role::Soap,
        60,
    );
    b.staple(soap);
    b.core(
        "Lavender & Oat Body Soap",
        body,
        MAISON,
        950,
        Role::Soap,
        25,
    );
    b.core(
        "Olive Oil Castile Soap Bar",
        body,
        BOTANICS,
        699,
        Role::Soap,
        20,
    );
    b.core(
        "Citrus Zest Shower Soap",
        body,
        BOTANICS,
        799,
        Role::Soap,
        15,
    );
    b.core(
        "Unscented Sensitive Skin Soap",
        body,
        BOTANICS,
        750,
        Role::Soap,
        12,
    );
    b.core("Charcoal Detox Body Soap", body, MAISON, 999, Role::Soap, 8);

    let cream = b.core(
        "Daily Hydrating Moisturiser",
        face,
        MAISON,
        2400,
        Role::Moisturiser,
        45,
    );
    b.staple(cream);
    b.core(
        "Whipped Shea Body Butter",
        body,
        MAISON,
        1999,
        Role::Moisturiser,
        20,
    );
    b.core(
        "Light Daily Body Lotion",
        body,
        BOTANICS,
        1499,
        Role::Moisturiser,
        20,
    );
    b.core(
        "Rich Night Moisturiser",
        face,
        BOTANICS,
        2900,
        Role::Moisturiser,
        12,
    );

    let hand_cream = b.core(
        "Shea Butter Hand Cream",
        hand,
        MAISON,
        1200,
        Role::HandCream,
        45,
    );
    b.staple(hand_cream);
    b.core(
        "Almond Blossom Hand Cream",
        hand,
        BOTANICS,
        1099,
        Role::HandCream,
        20,
    );
    b.core(
        "Intensive Repair Hand Balm",
        hand,
        BOTANICS,
        1350,
        Role::HandCream,
        12,
    );
    b.core(
        "Hand Cream Travel Trio",
        hand,
        MAISON,
        1800,
        Role::HandCream,
        10,
    );

    let makers = [MAISON, BOTANICS, "Nordvik Skin"];
    b.fillers(
        &[
            "Micellar Cleansing Water 400ml",
            "Vitamin C Brightening Serum",
            "Hyaluronic Acid Serum",
            "Gentle Foaming Face Wash",
            "Rose Water Toner",
            "Pink Clay Purifying Mask",
            "Mineral Sunscreen SPF 30",
            "Overnight Lip Mask",
            "Eye Contour Cream",
            "Fine Grain Face Scrub",
            "Tinted Day Cream SPF 15",
            "Calming Aloe Gel",
            "Retinol Night Serum",
            "Niacinamide Pore Serum",
            "Melting Cleansing Balm",
            "Soothing Sheet Masks (5 pack)",
        ],
        face,
        &makers,
        Role::Skincare,
        (12, 45),
    );
    b.fillers(
        &[
            "Sea Salt Body Scrub",
            "Dry Body Oil",
            "Lavender Bath Salts",
            "Fig & Cedar Body Mist",
            "Cooling Foot Cream",
            "Natural Deodorant Stick",
            "Eucalyptus Shower Gel 500ml",
            "Exfoliating Bath Mitt",
            "Konjac Face Sponge",
            "Firming Body Serum",
            "After-Sun Soothing Lotion",
            "Coconut Body Wash 300ml",
        ],
        body,
        &makers,
        Role::Skincare,
        (8, 35),
    );
    b.fillers(
        &[
            "Cuticle Oil Pen",
            "Nail Strengthener",
            "Hand Sanitiser Gel 100ml",
            "Overnight Hand Mask Gloves",
            "Hand & Nail Serum",
            "Glass Nail File",
        ],
        hand,
        &makers,
        Role::Skincare,
        (6, 25),
    );
}

fn add_running(b: &mut Builder) {
    let shoes = "Running Shoes";
    let apparel = "Running Apparel";
    let recovery = "Recovery";
    let road = [
        ("Stride Road Running Shoe", 8999, 50),
        ("Stride Tempo Distance Shoe", 12999, 15),
        ("Stride Marathon Distance Shoe", 17999, 8),
    ];
    for (level, (name, price, popularity)) in road.into_iter().enumerate() {
        let i = b.core(name, shoes, "Stride", price, Role::RoadShoe, popularity);
        b.family(i, "stride-road", Some(level as u8 + 1));
        if level == 0 {
            b.staple(i);
        }
    }
    let trail = [
        ("Trailhawk Ridge Trail Shoe", 9999, 25),
        ("Trailhawk Summit Trail Shoe", 13999, 10),
        ("Trailhawk Ultra Trail Shoe", 18999, 6),
    ];
    for (level, (name, price, popularity)) in trail.into_iter().enumerate() {
        let i = b.core(name, shoes, "Trailhawk", price, Role::TrailShoe, popularity);
        b.family(i, "trailhawk-trail", Some(level as u8 + 1));
    }
    let socks = b.core(
        "Merino Running Socks (3 pack)",
        apparel,
        "Stride",
        2400,
        Role::Socks,
        45,
    );
    b.staple(socks);
    b.core(
        "Cushioned Running Socks (5 pack)",
        apparel,
        "Stride",
        1999,
        Role::Socks,
        25,
    );
    b.core(
        "Trail Crew Socks (2 pack)",
        apparel,
        "Trailhawk",
        1800,
        Role::Socks,
        15,
    );
    b.core(
        "Compression Running Socks",
        apparel,
        "Trailhawk",
        2250,
        Role::Socks,
        10,
    );

    let roller = b.core(
        "Foam Recovery Roller",
        recovery,
        "Stride",
        3499,
        Role::Recovery,
        35,
    );
    b.staple(roller);
    b.core(
        "Massage Ball Set",
        recovery,
        "Trailhawk",
        1900,
        Role::Recovery,
        20,
    );
    b.core(
        "Compression Calf Sleeves",
        recovery,
        "Trailhawk",
        2999,
        Role::Recovery,
        15,
    );
    b.core(
        "Percussion Massage Gun",
        recovery,
        "Stride",
        14900,
        Role::Recovery,
        8,
    );
    b.core(
        "Recovery Slide Sandals",
        recovery,
        "Trailhawk",
        4499,
        Role::Recovery,
        10,
    );
    b.core(
        "Cooling Muscle Gel 150ml",
        recovery,
        "Stride",
        1299,
        Role::Recovery,
        12,
    );

    let makers = ["Stride", "Trailhawk"];
    b.fillers(
        &[
            "Stride Racing Flat",
            "Stride Everyday Walking Shoe",
            "Stride Kids Runner",
            "Trailhawk Waterproof Hiker",
            "Trailhawk Approach Shoe",
        ],
        shoes,
        &makers,
        Role::RunningGear,
        (50, 140),
    );
    b.fillers(
        &[
            "Lightweight Running Shorts",
            "Breathable Running Tee",
            "Thermal Long Sleeve Top",
            "Windproof Running Jacket",
            "Reflective Running Vest",
            "Running Cap",
            "Running Waist Belt",
            "Hydration Vest 5L",
            "Touchscreen Running Gloves",
            "Sweat Headbands (2 pack)",
            "Trail Running Tights",
            "Rechargeable Headlamp 400lm",
            "Seamless Sports Bra",
            "Packable Rain Shell",
            "Merino Neck Gaiter",
        ],
        apparel,
        &makers,
        Role::RunningGear,
        (15, 90),
    );
}

fn add_lighting(b: &mut Builder) {
    let lighting = "Smart Lighting";
    let starter = b.core(
        "Lumen Starter Kit (3 bulbs + bridge)",
        lighting,
        "Lumen",
        9999,
        Role::LumenStarter,
        45,
    );
    b.family(starter, "lumen", Some(1));
    b.staple(starter);
    let pro = b.core(
        "Lumen Bridge Pro",
        lighting,
        "Lumen",
        6999,
        Role::LumenBridgePro,
        8,
    );
    b.family(pro, "lumen", Some(2));
    let accessories = [
        ("Lumen Light Strip 2m", 7999, 25),
        ("Lumen Light Strip Extension 1m", 2499, 12),
        ("Lumen Outdoor Path Lights", 12999, 10),
        ("Lumen Colour Bulb E27", 4999, 20),
        ("Lumen White Ambiance Bulbs E27 (2 pack)", 2999, 20),
        ("Lumen GU10 Spot Bulbs (3 pack)", 8999, 10),
        ("Lumen Filament Bulb Edison", 3499, 8),
        ("Lumen Dimmer Switch", 2499, 15),
        ("Lumen Motion Sensor", 3999, 10),
        ("Lumen Smart Plug", 2999, 12),
        ("Lumen Play Light Bar (2 pack)", 12999, 6),
        ("Lumen Go Portable Table Lamp", 7999, 6),
        ("Lumen Outdoor Wall Lantern", 9999, 5),
    ];
    for (name, price, popularity) in accessories {
        let i = b.core(
            name,
            lighting,
            "Lumen",
            price,
            Role::LumenAccessory,
            popularity,
        );
        b.family(i, "lumen", None);
    }
    let home = "Smart Home";
    let plugs = b.fillers(
        &["Wi-Fi Smart Plug (2 pack)"],
        home,
        &["Brightway"],
        Role::SmartHome,
        (20, 30),
    );
    b.staple(plugs[0]);
    b.fillers(
        &[
            "Smart Thermostat",
            "Video Doorbell",
            "Indoor Security Camera",
            "Door & Window Sensor",
            "Smart Smoke Alarm",
            "Smart Speaker Mini",
            "Mesh Wi-Fi Extender",
            "Robot Vacuum Cleaner",
            "Smart Radiator Valve",
            "Water Leak Sensor",
            "Smart Door Lock",
        ],
        home,
        &["Brightway", "Homely"],
        Role::SmartHome,
        (20, 250),
    );
}

fn add_books(b: &mut Builder) {
    type SeriesSpec = (
        &'static str,
        &'static str,
        &'static str,
        usize,
        u32,
        [&'static str; 5],
    );
    let series: [SeriesSpec; 4] = [
        (
            "ravenmoor-saga",
            "Ravenmoor Saga",
            "Harrow & Quill",
            0,
            35,
            [
                "The Iron Crown",
                "The Winter Throne",
                "The Ashen Banner",
                "The Broken Oath",
                "The Last King of Ravenmoor",
            ],
        ),
        (
            "salt-road-chronicles",
            "Salt Road Chronicles",
            "Meridian Books",
            0,
            20,
            [
                "The Salt Road",
                "Silk and Iron",
                "The Amber Coast",
                "Harbour of Kings",
                "The Long Crossing",
            ],
        ),
        (
            "inspector-marlowe",
            "Inspector Marlowe",
            "Blue Lantern Press",
            1,
            25,
            [
                "Death at Wren Hall",
                "The Drowned Bell",
                "A Quiet Poison",
                "The Ninth Guest",
                "Murder on the Night Ferry",
            ],
        ),
        (
            "starfall-cycle",
            "Starfall Cycle",
            "Nebula House",
            2,
            20,
            [
                "Starfall",
                "The Silent Fleet",
                "Children of the Void",
                "The Helios Gambit",
                "Last Light of Kepler",
            ],
        ),
    ];
    for (family, series_name, publisher, genre, weight, titles) in series {
        let mut volumes = Vec::new();
        for (k, title) in titles.iter().enumerate() {
            let name = format!("{title} ({series_name}, Book {})", k + 1);
            let price = if k == 0 { 999 } else { 1699 };
            let popularity = 30 / (k as u32 + 1);
            let i = b.core(
                &name,
                GENRES[genre],
                publisher,
                price,
                Role::SeriesBook,
                popularity,
            );
            b.family(i, family, Some(k as u8 + 1));
            if k == 0 && genre != 0 {
                b.staple(i);
            }
            volumes.push(i);
        }
        if family == "ravenmoor-saga" {
            b.staple(volumes[0]);
        }
        b.series.push(Series {
            genre,
            volumes,
            weight,
        });
    }
    let publishers = [
        "Harrow & Quill",
        "Meridian Books",
        "Blue Lantern Press",
        "Nebula House",
    ];
    b.fillers(
        &[
            "The Cartographer's Daughter",
            "A Winter in Lisbon",
            "The Glassblower of Murano",
            "The Queen's Physician",
            "Letters from Normandy",
            "The Lighthouse Keeper's Wife",
            "The Silk Merchant",
            "Under the Tudor Rose",
            "The Last Train to Vienna",
            "The Clockmaker's Apprentice",
            "Echoes of Versailles",
            "The Weaver of Bruges",
            "The Spice Ship",
            "Daughters of the Loom",
        ],
        GENRES[0],
        &publishers,
        Role::Book,
        (11, 22),
    );
    b.fillers(
        &[
            "The Vanishing at Hollow Creek",
            "Murder in the Rose Garden",
            "The Silent Witness",
            "A Body in the Stacks",
            "The Locked Room at Fairmont",
            "Blood on the Moors",
            "The Seventh Key",
            "Death Comes to Cornwall",
            "The Orchid Murders",
            "Shadows over Baker Lane",
            "The Missing Heiress",
            "Twelve Hours in Venice",
        ],
        GENRES[1],
        &publishers,
        Role::Book,
        (10, 20),
    );
    b.fillers(
        &[
            "The Mars Protocol",
            "Orbit of Shadows",
            "The Quantum Garden",
            "Neon Tides",
            "The Last Colony Ship",
            "Echoes from Europa",
            "The Synthetic Heart",
            "Gravity's Edge",
            "The Titan Directive",
            "Signal from Proxima",
            "The Memory Engine",
            "Dust of Andromeda",
        ],
        GENRES[2],
        &publishers,
        Role::Book,
        (10, 20),
    );
    let accessories = b.fillers(
        &[
            "Clip-on Book Light",
            "Linen Book Sleeve",
            "Walnut Bookends",
            "Leather Bookmark",
            "Reading Pillow",
            "Reading Journal",
        ],
        "Book Accessories",
        &["Lamplight", "Harrow & Quill"],
        Role::BookAccessory,
        (8, 45),
    );
    b.staple(accessories[0]);
}

fn add_fitness(b: &mut Builder) {
    let membership = "Fitness Membership";
    let plans = [
        ("FitTrack Monthly Membership", 1499, 30),
        ("FitTrack Annual Membership", 11999, 15),
        ("FitTrack Premium Annual Membership", 19999, 6),
    ];
    for (level, (name, price, popularity)) in plans.into_iter().enumerate() {
        let i = b.core(
            name,
            membership,
            "FitTrack",
            price,
            Role::Membership,
            popularity,
        );
        b.family(i, "fittrack", Some(level as u8 + 1));
        if level == 0 {
            b.staple(i);
        }
    }
    let equipment = "Fitness Equipment";
    let mat = b.fillers(
        &["Yoga Mat Pro 6mm"],
        equipment,
        &["FlexCore"],
        Role::FitnessGear,
        (35, 45),
    );
    b.staple(mat[0]);
    let strap = b.core(
        "FitTrack Heart Rate Chest Strap",
        equipment,
        "FitTrack",
        5999,
        Role::FitnessGear,
        12,
    );
    b.family(strap, "fittrack", None);
    b.fillers(
        &[
            "Adjustable Dumbbells 20kg",
            "Resistance Bands Set",
            "Cast Iron Kettlebell 12kg",
            "Speed Jump Rope",
            "Doorway Pull-up Bar",
            "Exercise Ball 65cm",
            "Ab Roller Wheel",
            "Gym Duffel Bag",
            "Insulated Water Bottle 750ml",
            "Cork Yoga Blocks (2 pack)",
            "Adjustable Weight Bench",
            "Ankle Weights (2 x 1kg)",
            "Wooden Balance Board",
        ],
        equipment,
        &["Ironleaf", "FlexCore"],
        Role::FitnessGear,
        (10, 250),
    );
}

/// An everyday category: name, product names (the first is the staple),
/// manufacturers, price range in whole units.
type Shelf = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    (i64, i64),
);

fn add_everyday(b: &mut Builder) {
    let coffee = "Coffee & Tea";
    let origins = [
        "House Espresso Blend",
        "Colombian Supremo",
        "Ethiopian Yirgacheffe",
        "Sumatra Mandheling",
        "Kenyan AA",
        "Guatemalan Antigua",
        "Swiss Water Decaf",
    ];
    let mut coffees = Vec::new();
    for origin in origins {
        coffees.push(format!("{origin} Whole Bean Coffee 250g"));
        coffees.push(format!("{origin} Ground Coffee 250g"));
    }
    let coffees: Vec<&str> = coffees.iter().map(String::as_str).collect();
    let added = b.fillers(
        &coffees,
        coffee,
        &["Roastery No. 9"],
        Role::Everyday,
        (9, 19),
    );
    b.staple(added[0]);
    let teas = [
        "English Breakfast Loose Leaf Tea 100g",
        "Earl Grey Loose Leaf Tea 100g",
        "Sencha Green Loose Leaf Tea 100g",
        "Chamomile Blossom Loose Leaf Tea 100g",
        "Moroccan Mint Loose Leaf Tea 100g",
        "Rooibos Vanilla Loose Leaf Tea 100g",
        "Jasmine Pearl Loose Leaf Tea 100g",
        "Masala Chai Loose Leaf Tea 100g",
    ];
    b.fillers(&teas, coffee, &["Leaf & Kettle"], Role::Everyday, (7, 16));

    let shelves: [Shelf; 6] = [
        (
            "Kitchen",
            &[
                "Stoneware Mug Set (4)",
                "Cast Iron Skillet 26cm",
                "Chef's Knife 20cm",
                "Bamboo Cutting Board",
                "French Press 1L",
                "Pour-Over Coffee Dripper",
                "Electric Milk Frother",
                "Glass Storage Jars (3 pack)",
                "Silicone Baking Mat",
                "Digital Kitchen Scale",
                "Linen Tea Towels (2 pack)",
                "Olive Wood Salad Servers",
                "Enamel Dutch Oven 5L",
                "Burr Coffee Grinder",
                "Stainless Steel Kettle 1.7L",
                "Fresh Herb Keeper",
                "Ceramic Pasta Bowls (4)",
                "Beeswax Food Wraps (3 pack)",
            ],
            &["Ferro & Co", "Oak & Ember"],
            (10, 180),
        ),
        (
            "Stationery",
            &[
                "Dotted Notebook A5",
                "Lined Notebook A5",
                "Classic Fountain Pen",
                "Ink Cartridges (12 pack)",
                "Weekly Planner 2027",
                "Gel Pens (6 pack)",
                "Watercolour Sketchbook",
                "Brass Bookmark",
                "Leather Journal Cover",
                "Pastel Sticky Notes (6 pads)",
                "Oak Desk Organiser",
                "Washi Tape Set (10)",
                "Mechanical Pencil 0.5mm",
                "Greeting Card Set (8)",
            ],
            &["Papier Atelier", "Inkwell"],
            (3, 60),
        ),
        (
            "Home Decor",
            &[
                "Cedar & Amber Soy Candle",
                "Fig Leaf Soy Candle",
                "Sea Salt Reed Diffuser",
                "Linen Cushion Cover",
                "Chunky Knit Throw",
                "Small Ceramic Vase",
                "Macramé Wall Hanging",
                "Oak Picture Frame 20x25",
                "Woven Storage Basket",
                "Linen Table Runner",
                "Brass Candle Holders (2)",
                "Terracotta Plant Pot",
                "Blackout Curtain Panel",
                "Wool Doormat",
            ],
            &["Hearth & Willow", "Nordlys Home"],
            (12, 120),
        ),
        (
            "Bags & Travel",
            &[
                "Foldable Tote Bag",
                "Packing Cubes (4 set)",
                "Canvas Weekender Bag",
                "Travel Toiletry Bag",
                "Memory Foam Neck Pillow",
                "Laptop Backpack 20L",
                "Luggage Tags (2 pack)",
                "Leather Passport Holder",
                "Carry-on Spinner Case",
                "Universal Travel Adapter",
            ],
            &["Voyager"],
            (10, 150),
        ),
        (
            "Pet Supplies",
            &[
                "Grain-Free Dog Treats",
                "Cat Scratching Post",
                "Orthopaedic Dog Bed",
                "Reflective Dog Leash",
                "Interactive Cat Toy",
                "Stainless Pet Bowl Set",
                "Oatmeal Dog Shampoo",
                "Clumping Cat Litter 10kg",
            ],
            &["Happy Paws"],
            (5, 80),
        ),
        (
            "Snacks & Pantry",
            &[
                "Dark Chocolate 70% Bar",
                "Extra Virgin Olive Oil 500ml",
                "Wildflower Honey 340g",
                "Sea Salt Almonds 200g",
                "Maple Pecan Granola 400g",
                "Aged Balsamic Vinegar 250ml",
                "Chili Crisp Oil",
                "Dried Mango Slices",
                "Butter Oat Cookies (12)",
                "Pesto Genovese Jar",
                "Smoked Paprika Tin",
                "Ceremonial Matcha 30g",
            ],
            &["Golden Acre"],
            (3, 25),
        ),
    ];
    for (category, names, makers, prices) in shelves {
        let added = b.fillers(names, category, makers, Role::Everyday, prices);
        b.staple(added[0]);
    }
}

/// Write `catalog.csv`.
pub fn write_csv<W: std::io::Write>(catalog: &Catalog, out: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "name",
        "category",
        "manufacturer",
        "price",
        "currency",
        "rating",
        "rating_count",
        "stock",
        "created_at",
        "url",
        "image_url",
        "family",
        "level",
        "compare_at_price",
        "prices",
    ])?;
    for p in &catalog.products {
        let rating = match p.rating_tenths {
            Some(t) => format!("{}.{}", t / 10, t % 10),
            None => String::new(),
        };
        w.write_record([
            p.id.as_str(),
            &p.name,
            p.category,
            p.manufacturer,
            &p.price.to_string(),
            "USD",
            &rating,
            &p.rating_count.to_string(),
            &p.stock.to_string(),
            &rfc3339(p.created_at),
            &format!("https://shop.example/p/{}", p.id),
            &format!("https://shop.example/img/{}.jpg", p.id),
            p.family.unwrap_or(""),
            &p.level.map(|l| l.to_string()).unwrap_or_default(),
            &p.compare_at.map(|c| c.to_string()).unwrap_or_default(),
            &format!("EUR={}|GBP={}", p.eur, p.gbp),
        ])?;
    }
    w.flush()?;
    Ok(())
}
