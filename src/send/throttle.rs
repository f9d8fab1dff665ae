//! The global send rate: a token bucket shared by every worker (and every
//! campaign) of one process — `rate` messages per second on average, at
//! most `burst` at once.

use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Mutex;

pub struct Throttle {
    rate: Option<f64>,
    burst: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Throttle {
    /// `rate = None` means unlimited.
    pub fn new(rate: Option<f64>, burst: u32) -> Throttle {
        let burst = f64::from(burst.max(1));
        Throttle {
            rate,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Waits until one more message may go.
    pub async fn acquire(&self) {
        let Some(rate) = self.rate else { return };
        let wait = {
            let mut bucket = self.state.lock().await;
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * rate).min(self.burst);
            bucket.last = now;
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_burst_goes_at_once_then_the_rate_holds() {
        let throttle = Throttle::new(Some(10.0), 5);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            throttle.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..10 {
            throttle.acquire().await;
        }
        // Ten more at 10/s: about one second (the paused clock advances exactly by the sleeps).
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.95..=1.05).contains(&elapsed), "{elapsed}");
    }
}
