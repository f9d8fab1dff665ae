//! The behaviour of one customer over the event window: shopping trips that
//! follow the catalog's stories (soap → moisturiser and hand cream, then soap
//! again every month; shoes → socks and recovery, later distance shoes; the
//! Lumen starter kit → more of the family; book 1 → book 2; a fitness
//! membership → workouts), browsing sessions, support tickets, loyalty tier
//! changes — plus a deliberate share of activity just before `end`, so every
//! trigger finds moments when run at `end`.
//!
//! One customer's events are built in memory (a few dozen), sorted by time and
//! written out; nothing here holds more than one customer.

use chrono::{DateTime, Datelike, NaiveDate};

use super::catalog::Catalog;
use super::customers::{Activity, Currency, Customer, Interest, Tier};
use super::rng::Rng;
use super::{DAY, HOUR, MINUTE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    View,
    Cart,
    Order,
    SupportResolved,
    Usage,
    TierChanged,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Cart => "cart",
            Kind::Order => "order",
            Kind::SupportResolved => "support_resolved",
            Kind::Usage => "usage",
            Kind::TierChanged => "tier_changed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    None,
    /// Running count of workouts in the current (UTC) calendar month.
    Workouts(u32),
    /// Plan utilisation in tenths of a percent (425 = 42.5 %).
    PlanUtilisation(u32),
    /// The tier reached.
    Tier(Tier),
}

#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Unix seconds.
    pub ts: i64,
    pub kind: Kind,
    /// Index into the catalog.
    pub product: Option<usize>,
    /// Customer-local order number (1, 2, …) for order rows, else 0.
    pub order: u32,
    /// Order and cart rows only.
    pub quantity: u32,
    pub metric: Metric,
    pub gift: bool,
}

impl Event {
    fn new(ts: i64, kind: Kind, product: Option<usize>) -> Event {
        Event {
            ts,
            kind,
            product,
            order: 0,
            quantity: 0,
            metric: Metric::None,
            gift: false,
        }
    }
}

const SKINCARE: usize = 0;
const RUNNING: usize = 1;
const LIGHTING: usize = 2;
const BOOKS: usize = 3;
const FITNESS: usize = 4;

fn interest_slot(interest: Interest) -> usize {
    match interest {
        Interest::Skincare => SKINCARE,
        Interest::Running => RUNNING,
        Interest::Lighting => LIGHTING,
        Interest::Books => BOOKS,
        Interest::Fitness => FITNESS,
    }
}

/// Fill `events` (cleared first) with the customer's events in `[start, end)`,
/// sorted by time. Returns the number of orders.
pub fn simulate(
    rng: &mut Rng,
    catalog: &Catalog,
    customer: &Customer,
    start: i64,
    end: i64,
    events: &mut Vec<Event>,
) -> u32 {
    events.clear();
    let from = customer.created_at.max(start);
    let until = if customer.activity == Activity::Inactive {
        end - 90 * DAY - rng.range(0, 40 * DAY)
    } else {
        end
    };
    if until <= from {
        return 0;
    }
    let mut sim = Simulation {
        rng,
        catalog,
        customer,
        from,
        until,
        end,
        events,
        orders: 0,
        owned: Vec::new(),
        single: customer.activity == Activity::OneOrder,
        started: [false; 5],
        series_next: Vec::new(),
        membership: Vec::new(),
        member_until: 0,
    };
    sim.run();
    let orders = sim.orders;
    events.sort_by_key(|e| e.ts);
    orders
}

struct Simulation<'a> {
    rng: &'a mut Rng,
    catalog: &'a Catalog,
    customer: &'a Customer,
    /// Events are kept only in `[from, until)`.
    from: i64,
    until: i64,
    end: i64,
    events: &'a mut Vec<Event>,
    orders: u32,
    /// Products bought, with the time of purchase.
    owned: Vec<(usize, i64)>,
    /// One-order customers: plays add no follow-up orders.
    single: bool,
    /// Whether the first trip of each interest happened (it runs the story).
    started: [bool; 5],
    /// (series index, next volume index) for series the customer reads.
    series_next: Vec<(usize, usize)>,
    /// Fitness membership changes: (since, membership product).
    membership: Vec<(i64, usize)>,
    member_until: i64,
}

impl Simulation<'_> {
    fn run(&mut self) {
        let (from, until, end) = (self.from, self.until, self.end);
        let trips = match self.customer.activity {
            Activity::BrowseOnly => 0,
            Activity::OneOrder => 1,
            Activity::Inactive => self.rng.between(1, 3),
            Activity::Regular => self.rng.between(1, 3),
            Activity::Loyal => self.rng.between(3, 6),
        };
        let mut times: Vec<i64> = (0..trips).map(|_| self.rng.range(from, until)).collect();
        // Some orders in the last 48 hours, for post-purchase moments.
        if until == end && trips > 0 && self.rng.percent(12) {
            let recent = self.rng.range(end - 48 * HOUR, end - 5 * MINUTE);
            if self.single {
                times[0] = recent;
            } else {
                times.push(recent);
            }
        }
        for t in times {
            self.trip(t);
        }

        let sessions = match self.customer.activity {
            Activity::BrowseOnly => self.rng.between(3, 8),
            Activity::Inactive => self.rng.between(0, 2),
            _ => self.rng.between(0, 3),
        };
        for _ in 0..sessions {
            let t = self.rng.range(from, until);
            let abandon = self.rng.percent(12);
            self.browse(t, abandon);
        }
        if until == end {
            // Views in the last 3 days, carts abandoned in the last day.
            if self.rng.percent(30) {
                let t = self.rng.range(end - 3 * DAY, end - 30 * MINUTE);
                self.browse(t, false);
            }
            if self.rng.percent(6) {
                let t = self.rng.range(end - DAY, end - 40 * MINUTE);
                self.browse(t, true);
            }
            self.recent_support();
        }
        self.usage();
        self.tier_changes();
    }

    /// Keep `event` if it is inside the customer's window and its product
    /// was launched by then (a view days before an order may predate a new
    /// arrival; such events are dropped).
    fn push(&mut self, event: Event) {
        let launched = event
            .product
            .is_none_or(|p| self.catalog.products[p].created_at <= event.ts);
        if event.ts >= self.from && event.ts < self.until && launched {
            self.events.push(event);
        }
    }

    fn quantity(&mut self) -> u32 {
        if self.rng.percent(85) {
            1
        } else {
            self.rng.between(2, 3)
        }
    }

    fn owns(&self, product: usize) -> bool {
        self.owned.iter().any(|&(p, _)| p == product)
    }

    /// One order at `t` with views and carts before it. Products that did not
    /// exist yet at `t` become their category's staple; a popular staple is
    /// sometimes added. Returns false (and records nothing) outside the window.
    fn order(&mut self, t: i64, lines: &[(usize, u32)], gift: bool) -> bool {
        if t < self.from || t >= self.until {
            return false;
        }
        let mut picked: Vec<(usize, u32)> = Vec::with_capacity(lines.len() + 1);
        for &(product, quantity) in lines {
            let product = self.catalog.available(product, t);
            if !picked.iter().any(|&(p, _)| p == product) {
                picked.push((product, quantity));
            }
        }
        if !gift && self.rng.percent(20) {
            let staple = self.catalog.groups.staples.pick(self.rng);
            if !picked.iter().any(|&(p, _)| p == staple) {
                picked.push((staple, 1));
            }
        }
        self.orders += 1;
        let order = self.orders;
        for &(product, quantity) in &picked {
            if self.rng.percent(60) {
                let viewed = t - self.rng.range(10 * MINUTE, 3 * DAY);
                self.push(Event::new(viewed, Kind::View, Some(product)));
            }
            if self.rng.percent(85) {
                let carted = t - self.rng.range(MINUTE, 30 * MINUTE);
                self.push(Event {
                    quantity,
                    ..Event::new(carted, Kind::Cart, Some(product))
                });
            }
        }
        for &(product, quantity) in &picked {
            self.push(Event {
                order,
                quantity,
                gift,
                ..Event::new(t, Kind::Order, Some(product))
            });
            self.owned.push((product, t));
        }
        true
    }

    fn support(&mut self, t: i64, product: usize) {
        self.push(Event::new(t, Kind::SupportResolved, Some(product)));
    }

    fn trip(&mut self, t: i64) {
        // About 3 % of all orders (follow-ups included) are gifts.
        if self.rng.permille(45) {
            let count = self.rng.between(1, 2);
            let lines: Vec<(usize, u32)> = (0..count)
                .map(|_| (self.catalog.groups.gifts.pick(self.rng), 1))
                .collect();
            self.order(t, &lines, true);
            return;
        }
        if self.rng.percent(25) {
            self.everyday(t);
            return;
        }
        let interest = *self.rng.pick(&self.customer.interests);
        match interest_slot(interest) {
            SKINCARE => self.skincare(t),
            RUNNING => self.running(t),
            LIGHTING => self.lighting(t),
            BOOKS => self.books(t),
            _ => self.fitness(t),
        }
    }

    fn everyday(&mut self, t: i64) {
        let shelves = &self.catalog.groups.everyday;
        let count = self.rng.between(1, 3);
        let mut lines = Vec::new();
        for _ in 0..count {
            let shelf = self.rng.pick(shelves);
            let product = shelf.pick(self.rng);
            let quantity = self.quantity();
            lines.push((product, quantity));
        }
        self.order(t, &lines, false);
    }

    /// Soap, then moisturiser and hand cream (same order or within ~10
    /// days), then the same soap again every 25–35 days.
    fn skincare(&mut self, t: i64) {
        let g = &self.catalog.groups;
        if self.started[SKINCARE] {
            let mut lines = vec![(g.skincare_other.pick(self.rng), 1)];
            if self.rng.percent(30) {
                lines.push((g.hand_creams.pick(self.rng), 1));
            }
            self.order(t, &lines, false);
            return;
        }
        self.started[SKINCARE] = true;
        let soap = g.soaps.pick(self.rng);
        let moisturiser = g.moisturisers.pick(self.rng);
        let hand_cream = g.hand_creams.pick(self.rng);
        let soap_quantity = self.quantity();
        let mut lines = vec![(soap, soap_quantity)];
        let with_moisturiser = self.rng.percent(45);
        let with_hand_cream = self.rng.percent(35);
        if with_moisturiser {
            lines.push((moisturiser, 1));
        }
        if with_hand_cream {
            lines.push((hand_cream, 1));
        }
        if self.rng.percent(15) {
            lines.push((g.skincare_other.pick(self.rng), 1));
        }
        if !self.order(t, &lines, false) || self.single {
            return;
        }
        if !with_moisturiser && self.rng.percent(60) {
            let mut lines = vec![(moisturiser, 1)];
            if !with_hand_cream && self.rng.percent(40) {
                lines.push((hand_cream, 1));
            }
            let later = t + self.rng.range(DAY, 10 * DAY);
            self.order(later, &lines, false);
        } else if !with_hand_cream && self.rng.percent(50) {
            let later = t + self.rng.range(2 * DAY, 10 * DAY);
            self.order(later, &[(hand_cream, 1)], false);
        }
        // Replenishment.
        let mut next = t + self.rng.range(25 * DAY, 36 * DAY);
        while next < self.until && self.rng.percent(75) {
            let mut lines = vec![(soap, soap_quantity)];
            if self.rng.percent(20) {
                lines.push((hand_cream, 1));
            }
            self.order(next, &lines, false);
            next += self.rng.range(25 * DAY, 36 * DAY);
        }
    }

    /// A shoe with or soon followed by socks and recovery gear; later,
    /// sometimes, the next level of the same shoe line.
    fn running(&mut self, t: i64) {
        let g = &self.catalog.groups;
        if self.started[RUNNING] {
            let product = match self.rng.below(10) {
                0..=4 => g.running_gear.pick(self.rng),
                5..=7 => g.recovery.pick(self.rng),
                _ => g.socks.pick(self.rng),
            };
            let quantity = self.quantity();
            self.order(t, &[(product, quantity)], false);
            return;
        }
        self.started[RUNNING] = true;
        let line = if self.rng.percent(75) {
            &g.road_shoes
        } else {
            &g.trail_shoes
        };
        let socks = g.socks.pick(self.rng);
        let mut lines = vec![(line[0], 1)];
        let with_socks = self.rng.percent(45);
        if with_socks {
            let quantity = self.quantity();
            lines.push((socks, quantity));
        }
        if self.rng.percent(15) {
            lines.push((g.running_gear.pick(self.rng), 1));
        }
        if !self.order(t, &lines, false) {
            return;
        }
        if self.rng.percent(8) {
            let later = t + self.rng.range(5 * DAY, 40 * DAY);
            self.support(later, line[0]);
        }
        if self.single {
            return;
        }
        if !with_socks && self.rng.percent(60) {
            let mut lines = vec![(socks, 1)];
            if self.rng.percent(30) {
                lines.push((g.running_gear.pick(self.rng), 1));
            }
            let later = t + self.rng.range(DAY, 14 * DAY);
            self.order(later, &lines, false);
        }
        if self.rng.percent(40) {
            let later = t + self.rng.range(3 * DAY, 30 * DAY);
            let recovery = g.recovery.pick(self.rng);
            self.order(later, &[(recovery, 1)], false);
        }
        // Upgrades: level 1 → 2 → 3.
        let mut at = t;
        for (level, &shoe) in line.iter().enumerate().skip(1) {
            let chance = if level == 1 { 35 } else { 30 };
            if !self.rng.percent(chance) {
                break;
            }
            at += self.rng.range(40 * DAY, 120 * DAY);
            let mut lines = vec![(shoe, 1)];
            if self.rng.percent(30) {
                lines.push((socks, 1));
            }
            if !self.order(at, &lines, false) {
                break;
            }
        }
    }

    /// The starter kit, often a support ticket, then more of the family over
    /// the following months (the ecosystem play), sometimes the Bridge Pro.
    fn lighting(&mut self, t: i64) {
        let g = &self.catalog.groups;
        if self.started[LIGHTING] {
            let product = if self.rng.percent(70) {
                g.lumen_accessories.pick(self.rng)
            } else {
                g.smart_home.pick(self.rng)
            };
            self.order(t, &[(product, 1)], false);
            return;
        }
        self.started[LIGHTING] = true;
        let starter = g.lumen_starter;
        let mut lines = vec![(starter, 1)];
        if self.rng.percent(20) {
            lines.push((g.lumen_accessories.pick(self.rng), 1));
        }
        if !self.order(t, &lines, false) {
            return;
        }
        if self.rng.percent(30) {
            let later = t + self.rng.range(DAY, 30 * DAY);
            self.support(later, starter);
        }
        if self.single {
            return;
        }
        let mut next = t + self.rng.range(10 * DAY, 45 * DAY);
        while next < self.until && self.rng.percent(65) {
            let mut lines = Vec::new();
            if !self.owns(g.lumen_bridge_pro) && self.rng.percent(15) {
                lines.push((g.lumen_bridge_pro, 1));
            } else {
                let count = self.rng.between(1, 2);
                for _ in 0..count {
                    // Prefer what the customer does not own yet.
                    let mut product = g.lumen_accessories.pick(self.rng);
                    for _ in 0..3 {
                        if !self.owns(product) {
                            break;
                        }
                        product = g.lumen_accessories.pick(self.rng);
                    }
                    let quantity = self.quantity();
                    lines.push((product, quantity));
                }
            }
            self.order(next, &lines, false);
            next += self.rng.range(15 * DAY, 60 * DAY);
        }
    }

    /// Volume 1 of a series, then the next volumes one by one; or standalone
    /// titles.
    fn books(&mut self, t: i64) {
        let g = &self.catalog.groups;
        let first = !self.started[BOOKS];
        self.started[BOOKS] = true;
        if first || self.rng.percent(40) {
            let weights: Vec<u32> = g.series.iter().map(|s| s.weight).collect();
            let s = self.rng.weighted(&weights);
            if !self.series_next.iter().any(|&(started, _)| started == s) {
                self.series_next.push((s, 1));
                let series = &g.series[s];
                let mut lines = vec![(series.volumes[0], 1)];
                if self.rng.percent(25) {
                    lines.push((g.standalone[series.genre].pick(self.rng), 1));
                }
                if self.rng.percent(10) {
                    lines.push((g.book_accessories.pick(self.rng), 1));
                }
                if !self.order(t, &lines, false) || self.single {
                    return;
                }
                let mut at = t;
                for &volume in &series.volumes[1..] {
                    if !self.rng.percent(65) {
                        break;
                    }
                    at += self.rng.range(7 * DAY, 40 * DAY);
                    let mut lines = vec![(volume, 1)];
                    if self.rng.percent(20) {
                        lines.push((g.standalone[series.genre].pick(self.rng), 1));
                    }
                    if !self.order(at, &lines, false) {
                        break;
                    }
                }
                return;
            }
        }
        let genre = self.rng.weighted(&[50, 30, 20]);
        let mut lines = vec![(g.standalone[genre].pick(self.rng), 1)];
        if self.rng.percent(30) {
            lines.push((g.standalone[genre].pick(self.rng), 1));
        }
        if self.rng.percent(10) {
            lines.push((g.book_accessories.pick(self.rng), 1));
        }
        self.order(t, &lines, false);
    }

    /// A membership (monthly, annual or premium), monthly renewals, upgrades
    /// to annual and premium; `usage` later turns it into workouts.
    fn fitness(&mut self, t: i64) {
        let g = &self.catalog.groups;
        if self.started[FITNESS] {
            let gear = g.fitness_gear.pick(self.rng);
            self.order(t, &[(gear, 1)], false);
            return;
        }
        self.started[FITNESS] = true;
        let plan = self.rng.weighted(&[60, 30, 10]);
        let mut lines = vec![(g.memberships[plan], 1)];
        if self.rng.percent(10) {
            lines.push((g.fitness_gear.pick(self.rng), 1));
        }
        if !self.order(t, &lines, false) {
            return;
        }
        self.membership.push((t, g.memberships[plan]));
        let mut level = plan;
        let mut paid_until = t + if plan == 0 { 30 * DAY } else { 365 * DAY };
        if plan == 0 && !self.single {
            let upgrade_after = self.rng.between(2, 4);
            let mut renewals = 0;
            while paid_until < self.until {
                let at = paid_until;
                if renewals >= upgrade_after && self.rng.percent(25) {
                    self.order(at, &[(g.memberships[1], 1)], false);
                    self.membership.push((at, g.memberships[1]));
                    level = 1;
                    paid_until = at + 365 * DAY;
                    break;
                }
                if !self.rng.percent(90) {
                    break;
                }
                self.order(at, &[(g.memberships[0], 1)], false);
                renewals += 1;
                paid_until += 30 * DAY;
            }
        }
        if level == 1 && !self.single && self.rng.percent(15) {
            let at =
                self.membership[self.membership.len() - 1].0 + self.rng.range(60 * DAY, 200 * DAY);
            if self.order(at, &[(g.memberships[2], 1)], false) {
                self.membership.push((at, g.memberships[2]));
                paid_until = at + 365 * DAY;
            }
        }
        self.member_until = paid_until;
    }

    fn membership_at(&self, ts: i64) -> usize {
        let mut product = self.membership[0].1;
        for &(since, p) in &self.membership {
            if since <= ts {
                product = p;
            }
        }
        product
    }

    /// Workouts logged by members: each month a target of 2–30, counted
    /// from 1 again every calendar month (UTC); some members are on a streak
    /// this month and pass 20 before `end`. Annual and premium members
    /// sometimes report plan utilisation.
    fn usage(&mut self) {
        if self.membership.is_empty() {
            return;
        }
        let begin = self.membership[0].0;
        let stop = self.member_until.min(self.until);
        let base = i64::from(self.rng.between(2, 26));
        let mut month = month_start(begin);
        let mut times: Vec<i64> = Vec::new();
        while month < stop {
            let next = next_month_start(month);
            let lo = month.max(begin).max(self.from);
            let hi = next.min(stop);
            if hi > lo {
                let target = (base + self.rng.range(-4, 5)).clamp(2, 30);
                let mut count = target * (hi - lo) / (next - month);
                if hi == self.end && hi - lo >= 8 * DAY && self.rng.percent(40) {
                    count = i64::from(self.rng.between(19, 30));
                }
                times.clear();
                for _ in 0..count {
                    times.push(self.rng.range(lo, hi));
                }
                times.sort_unstable();
                for (k, &ts) in times.iter().enumerate() {
                    let product = self.membership_at(ts);
                    self.push(Event {
                        metric: Metric::Workouts(k as u32 + 1),
                        ..Event::new(ts, Kind::Usage, Some(product))
                    });
                }
                let product = self.membership_at(hi - 1);
                let level = self.catalog.products[product].level.unwrap_or(1);
                if level >= 2 && self.rng.percent(50) {
                    let ts = self.rng.range(lo, hi);
                    let tenths = self.rng.between(100, 990);
                    self.push(Event {
                        metric: Metric::PlanUtilisation(tenths),
                        ..Event::new(ts, Kind::Usage, Some(self.membership_at(ts)))
                    });
                }
            }
            month = next;
        }
    }

    /// A short browsing session: 1–5 views on one shelf, maybe a cart left
    /// behind.
    fn browse(&mut self, t: i64, abandon: bool) {
        let g = &self.catalog.groups;
        let shelf = if self.rng.percent(75) {
            match interest_slot(*self.rng.pick(&self.customer.interests)) {
                SKINCARE => &g.skincare_all,
                RUNNING => &g.running_all,
                LIGHTING => &g.lighting_all,
                BOOKS => &g.books_all,
                _ => &g.fitness_all,
            }
        } else {
            self.rng.pick(&g.everyday)
        };
        let views = self.rng.between(1, 5);
        let mut at = t;
        let mut last = None;
        for _ in 0..views {
            let product = self.catalog.available(shelf.pick(self.rng), at);
            self.push(Event::new(at, Kind::View, Some(product)));
            last = Some(product);
            at += self.rng.range(20, 300);
        }
        if abandon {
            self.push(Event {
                quantity: 1,
                ..Event::new(at, Kind::Cart, last)
            });
        }
    }

    /// Support tickets resolved in the last two days, about products the
    /// customer owned before.
    fn recent_support(&mut self) {
        let g = &self.catalog.groups;
        let since = self.end - 2 * DAY;
        let owned_before = |product: usize, owned: &[(usize, i64)]| {
            owned.iter().any(|&(p, at)| p == product && at < since)
        };
        if owned_before(g.lumen_starter, &self.owned) && self.rng.percent(15) {
            let t = self.rng.range(since, self.end);
            self.support(t, g.lumen_starter);
        }
        let shoe = g.road_shoes[0];
        if owned_before(shoe, &self.owned) && self.rng.percent(6) {
            let t = self.rng.range(since, self.end);
            self.support(t, shoe);
        }
    }

    /// Half of the silver, gold and platinum customers climbed during the
    /// window; the last step is often in the last week. The final step is
    /// always the tier in customers.csv.
    fn tier_changes(&mut self) {
        let target = self.customer.tier;
        if target == Tier::Bronze || !self.rng.percent(50) {
            return;
        }
        let target_rank = target as usize;
        let first = self.rng.between(1, target_rank as u32) as usize;
        let steps = &Tier::ALL[first..=target_rank];
        let mut times: Vec<i64> = steps
            .iter()
            .map(|_| self.rng.range(self.from, self.until))
            .collect();
        times.sort_unstable();
        if self.until == self.end && self.rng.percent(25) {
            let last = times.len() - 1;
            let lo = (self.end - 7 * DAY).max(self.from).max(times[0]);
            times[last] = self.rng.range(lo, self.end);
        }
        times.sort_unstable();
        for (&tier, &ts) in steps.iter().zip(&times) {
            self.push(Event {
                metric: Metric::Tier(tier),
                ..Event::new(ts, Kind::TierChanged, None)
            });
        }
    }
}

fn month_start(ts: i64) -> i64 {
    let date = DateTime::from_timestamp(ts, 0)
        .expect("timestamp in range")
        .date_naive();
    utc_midnight(date.year(), date.month())
}

fn next_month_start(month: i64) -> i64 {
    let date = DateTime::from_timestamp(month, 0)
        .expect("timestamp in range")
        .date_naive();
    if date.month() == 12 {
        utc_midnight(date.year() + 1, 1)
    } else {
        utc_midnight(date.year(), date.month() + 1)
    }
}

fn utc_midnight(year: i32, month: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, 1)
        .expect("valid month")
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
        .and_utc()
        .timestamp()
}

pub const HEADER: [&str; 10] = [
    "ts",
    "customer_id",
    "kind",
    "product_id",
    "order_id",
    "quantity",
    "unit_price",
    "value",
    "metric",
    "gift",
];

/// Reusable buffers and the global order counter for writing events.
#[derive(Debug, Default)]
pub struct EventWriter {
    /// Orders written so far; the next order id is `O{orders + 1}`.
    pub orders: u64,
    /// Rows written so far.
    pub rows: u64,
    /// Customer-local order number → global order number.
    order_ids: Vec<u64>,
    ts: String,
    order: String,
    quantity: String,
    price: String,
    value: String,
}

impl EventWriter {
    /// Write one customer's (sorted) events. Order ids are numbered in the
    /// order they appear in the file.
    pub fn write<W: std::io::Write>(
        &mut self,
        w: &mut csv::Writer<W>,
        catalog: &Catalog,
        customer: &Customer,
        events: &[Event],
    ) -> csv::Result<()> {
        use std::fmt::Write as _;
        self.order_ids.clear();
        for event in events {
            super::write_rfc3339(&mut self.ts, event.ts);
            let product = event.product.map(|p| &catalog.products[p]);
            self.order.clear();
            self.quantity.clear();
            self.price.clear();
            self.value.clear();
            let mut metric = "";
            let mut gift = "";
            match event.kind {
                Kind::Order => {
                    let local = event.order as usize;
                    if self.order_ids.len() <= local {
                        self.order_ids.resize(local + 1, 0);
                    }
                    if self.order_ids[local] == 0 {
                        self.orders += 1;
                        self.order_ids[local] = self.orders;
                    }
                    let _ = write!(self.order, "O{:07}", self.order_ids[local]);
                    let _ = write!(self.quantity, "{}", event.quantity);
                    let product = product.expect("order rows have a product");
                    let price = match customer.currency {
                        Currency::Usd => product.price,
                        Currency::Eur => product.eur,
                        Currency::Gbp => product.gbp,
                    };
                    let _ = write!(self.price, "{price}");
                    gift = if event.gift { "true" } else { "false" };
                }
                Kind::Cart => {
                    let _ = write!(self.quantity, "{}", event.quantity.max(1));
                }
                _ => {}
            }
            match event.metric {
                Metric::None => {}
                Metric::Workouts(count) => {
                    metric = "workouts";
                    let _ = write!(self.value, "{count}");
                }
                Metric::PlanUtilisation(tenths) => {
                    metric = "plan_utilisation";
                    let _ = write!(self.value, "{}.{}", tenths / 10, tenths % 10);
                }
                Metric::Tier(tier) => metric = tier.name(),
            }
            w.write_record([
                self.ts.as_str(),
                &customer.id,
                event.kind.name(),
                product.map(|p| p.id.as_str()).unwrap_or(""),
                &self.order,
                &self.quantity,
                &self.price,
                &self.value,
                metric,
                gift,
            ])?;
            self.rows += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_boundaries_are_utc_calendar_months() {
        let nov_16 = DateTime::parse_from_rfc3339("2026-11-16T09:00:00Z")
            .unwrap()
            .timestamp();
        let nov_1 = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .timestamp();
        let dec_1 = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .timestamp();
        let jan_1 = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(month_start(nov_16), nov_1);
        assert_eq!(next_month_start(nov_1), dec_1);
        assert_eq!(next_month_start(dec_1), jan_1);
    }
}
