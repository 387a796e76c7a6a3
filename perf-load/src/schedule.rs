//! [`Schedule`]: the instants at which an open-loop run starts its requests, fixed before the
//! run so that a slow target can never make the generator send less than it should.

use std::time::Duration;

use crate::error::ConfigError;

/// The most requests one schedule may hold (about 3 hours at 100,000 req/s).
pub const MAX_REQUESTS: u64 = 1_000_000_000;

/// When each request of an open-loop run starts, as offsets from the start of the run.
///
/// A constant rate, steps of constant rates, a linear ramp between two rates, or instants
/// the user gives. Request `i` of a constant rate `r` starts at `i / r`; a ramp from `a` to
/// `b` over `T` starts request `i` where the integral of its rate reaches `i`.
///
/// ```
/// use std::time::Duration;
/// use perf_load::Schedule;
///
/// let s = Schedule::constant(4.0, Duration::from_secs(1)).unwrap();
/// let ms: Vec<u128> = s.instants().map(|d| d.as_millis()).collect();
/// assert_eq!(ms, [0, 250, 500, 750]);
/// assert_eq!(s.count(), 4);
/// assert!(Schedule::constant(0.0, Duration::from_secs(1)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `from` to `to` req/s, linearly, over `duration`.
    Ramp {
        from: f64,
        to: f64,
        duration: Duration,
    },
    Instants(Vec<Duration>),
}

fn check_rate(rate: f64) -> Result<f64, ConfigError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(ConfigError::Rate(rate))
    }
}

fn check_duration(d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::ZeroDuration)
    } else {
        Ok(d)
    }
}

impl Schedule {
    /// `rate` requests per second for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Result<Self, ConfigError> {
        Self::steps([(rate, duration)])
    }

    /// Constant rates one after the other: `(rate, how long)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = perf_load::Schedule::steps([(10.0, Duration::from_secs(1)), (20.0, Duration::from_secs(1))]).unwrap();
    /// assert_eq!(s.count(), 30);
    /// assert_eq!(s.duration(), Duration::from_secs(2));
    /// ```
    pub fn steps(steps: impl IntoIterator<Item = (f64, Duration)>) -> Result<Self, ConfigError> {
        let segments = steps
            .into_iter()
            .map(|(rate, duration)| {
                let rate = check_rate(rate)?;
                Ok(Segment::Ramp {
                    from: rate,
                    to: rate,
                    duration: check_duration(duration)?,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Self::checked(segments, "schedule")
    }

    /// A rate that grows (or falls) linearly from `from` to `to` req/s over `duration`. One
    /// end may be 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = perf_load::Schedule::ramp(0.0, 100.0, Duration::from_secs(2)).unwrap();
    /// assert_eq!(s.count(), 100); // the area under the ramp
    /// ```
    pub fn ramp(from: f64, to: f64, duration: Duration) -> Result<Self, ConfigError> {
        let nonneg = |r: f64| {
            if r.is_finite() && r >= 0.0 {
                Ok(r)
            } else {
                Err(ConfigError::Rate(r))
            }
        };
        let (from, to) = (nonneg(from)?, nonneg(to)?);
        if from == 0.0 && to == 0.0 {
            return Err(ConfigError::Rate(0.0));
        }
        Self::checked(
            vec![Segment::Ramp {
                from,
                to,
                duration: check_duration(duration)?,
            }],
            "ramp",
        )
    }

    /// Requests at the given offsets from the start of the run, in ascending order.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = perf_load::Schedule::at(vec![Duration::ZERO, Duration::from_millis(5)]).unwrap();
    /// assert_eq!(s.count(), 2);
    /// ```
    pub fn at(instants: Vec<Duration>) -> Result<Self, ConfigError> {
        if let Some(index) = instants.windows(2).position(|w| w[1] < w[0]) {
            return Err(ConfigError::Unsorted {
                index: index + 1,
                at: instants[index + 1],
            });
        }
        Self::checked(vec![Segment::Instants(instants)], "list of instants")
    }

    fn checked(segments: Vec<Segment>, what: &'static str) -> Result<Self, ConfigError> {
        let s = Schedule { segments };
        match s.count() {
            0 => Err(ConfigError::Empty(what)),
            n if n > MAX_REQUESTS => Err(ConfigError::TooManyRequests {
                requested: n,
                max: MAX_REQUESTS,
            }),
            _ => Ok(s),
        }
    }

    /// How many requests the schedule starts.
    pub fn count(&self) -> u64 {
        self.segments.iter().map(Segment::count).sum()
    }

    /// How long the schedule lasts: the sum of its steps, or up to the last instant given.
    pub fn duration(&self) -> Duration {
        self.segments.iter().map(Segment::duration).sum()
    }

    /// Requests per second over the whole schedule.
    pub fn mean_rate(&self) -> f64 {
        let secs = self.duration().as_secs_f64();
        if secs > 0.0 {
            self.count() as f64 / secs
        } else {
            self.count() as f64
        }
    }

    /// The start offset of every request, ascending, computed as it is read (a long
    /// schedule costs no memory).
    pub fn instants(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut base = Duration::ZERO;
        self.segments.iter().flat_map(move |seg| {
            let start = base;
            base += seg.duration();
            (0..seg.count()).map(move |i| start + seg.offset(i))
        })
    }
}

impl Segment {
    fn count(&self) -> u64 {
        match self {
            Segment::Ramp { from, to, duration } => {
                // The area under the rate; the epsilon keeps 100.0 * 10.0 from becoming 999.
                ((from + to) / 2.0 * duration.as_secs_f64() + 1e-9).floor() as u64
            }
            Segment::Instants(v) => v.len() as u64,
        }
    }

    fn duration(&self) -> Duration {
        match self {
            Segment::Ramp { duration, .. } => *duration,
            Segment::Instants(v) => v.last().copied().unwrap_or_default(),
        }
    }

    fn offset(&self, i: u64) -> Duration {
        match self {
            Segment::Ramp { from, to, duration } => {
                let (b, i) = (*from, i as f64);
                let a = (to - from) / (2.0 * duration.as_secs_f64());
                // Solves a·t² + b·t = i in the form that stays exact when a is 0.
                let t = 2.0 * i / (b + (b * b + 4.0 * a * i).max(0.0).sqrt());
                Duration::from_secs_f64(if t.is_finite() { t } else { 0.0 })
            }
            Segment::Instants(v) => v[i as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let s = Schedule::constant(200.0, Duration::from_secs(5)).unwrap();
        assert_eq!(s.count(), 1000);
        let v: Vec<Duration> = s.instants().collect();
        assert_eq!(v.len(), 1000);
        assert_eq!(v[1], Duration::from_millis(5));
        assert_eq!(v[999], Duration::from_millis(4995));
        assert_eq!(s.mean_rate(), 200.0);
    }

    #[test]
    fn steps_follow_each_other() {
        let s = Schedule::steps([(2.0, Duration::from_secs(1)), (4.0, Duration::from_secs(1))])
            .unwrap();
        let ms: Vec<u128> = s.instants().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 500, 1000, 1250, 1500, 1750]);
    }

    #[test]
    fn linear_ramp_spaces_by_the_integral() {
        // 0 → 2 req/s over 2 s: N(t) = t²/2, so request i starts at sqrt(2i).
        let s = Schedule::ramp(0.0, 2.0, Duration::from_secs(2)).unwrap();
        let v: Vec<f64> = s.instants().map(|d| d.as_secs_f64()).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], 0.0);
        assert!((v[1] - 2f64.sqrt()).abs() < 1e-9, "{v:?}");
        let down = Schedule::ramp(100.0, 0.0, Duration::from_secs(1)).unwrap();
        assert_eq!(down.count(), 50);
        let last = down.instants().last().unwrap().as_secs_f64();
        // N(t) = 100t − 50t² = 49 → t = 1 − sqrt(0.02).
        assert!((last - (1.0 - 0.02f64.sqrt())).abs() < 1e-9, "{last}");
    }

    #[test]
    fn bad_input_is_refused_with_what_to_do() {
        let one = Duration::from_secs(1);
        assert_eq!(Schedule::constant(0.0, one), Err(ConfigError::Rate(0.0)));
        assert_eq!(Schedule::constant(-5.0, one), Err(ConfigError::Rate(-5.0)));
        assert!(matches!(
            Schedule::constant(f64::NAN, one),
            Err(ConfigError::Rate(_))
        ));
        assert_eq!(
            Schedule::constant(10.0, Duration::ZERO),
            Err(ConfigError::ZeroDuration)
        );
        assert_eq!(
            Schedule::constant(0.5, one),
            Err(ConfigError::Empty("schedule"))
        );
        assert_eq!(Schedule::steps([]), Err(ConfigError::Empty("schedule")));
        assert_eq!(Schedule::ramp(0.0, 0.0, one), Err(ConfigError::Rate(0.0)));
        assert_eq!(
            Schedule::at(vec![one, Duration::ZERO]),
            Err(ConfigError::Unsorted {
                index: 1,
                at: Duration::ZERO
            })
        );
        assert_eq!(
            Schedule::constant(1e12, Duration::from_secs(10)),
            Err(ConfigError::TooManyRequests {
                requested: 10_000_000_000_000,
                max: MAX_REQUESTS
            })
        );
        let msg = ConfigError::Rate(0.0).to_string();
        assert_eq!(
            msg,
            "rate 0 req/s cannot be scheduled: give a finite rate above 0 (e.g. 100)"
        );
    }
}
