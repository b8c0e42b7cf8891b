//! Data-quality rules (issue 19): which completed responses look unreliable, as flags an
//! analyst can read and exclude. Pure functions over plain inputs (no database, no
//! clock): `db::quality` loads the inputs and `export`, `report` and the dashboard show
//! the result.
//!
//! Flags are computed when read, not stored, so that a change of parameters applies to
//! every response at once and nothing has to be kept in step with later edits.

pub mod duplicates;
pub mod fingerprint;
pub mod flags;
pub mod speed;
pub mod straightline;

use std::collections::HashMap;

use chrono::NaiveDateTime;

pub use flags::{Flag, FlagSet};

/// The rules' parameters (`[quality]` in the configuration, checked there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// A duration under this fraction of the median is a speeder.
    pub speeder_fraction: f64,
    /// Below this many timed completed responses the median means little: no speeder flag.
    pub speeder_min_responses: usize,
    /// A grid with fewer items than this is never straight-lined.
    pub straightline_min_items: usize,
    pub duplicate_phone: bool,
    pub duplicate_name_bairro: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            speeder_fraction: 0.33,
            speeder_min_responses: 30,
            straightline_min_items: 4,
            duplicate_phone: true,
            duplicate_name_bairro: true,
        }
    }
}

/// What the rules read of one response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub response_id: i64,
    /// Submitted (and not screened out): only completed responses are flagged.
    pub submitted_at: Option<NaiveDateTime>,
    pub screened_out: bool,
    /// First view of the questionnaire's first page (paradata); `None` when unknown
    /// (answered before paradata existed, or the account was deleted).
    pub started_at: Option<NaiveDateTime>,
    /// Any soft check the respondent confirmed.
    pub confirmed_check: bool,
    /// Keyed fingerprints of the respondent ([`fingerprint`]); `None` when unknown.
    pub phone_fp: Option<String>,
    pub name_bairro_fp: Option<String>,
    /// Grids the respondent answered with the same value for every item (see
    /// [`straightline::straight_lined`]); set by the caller that reads the grid answers.
    pub straight_lined: bool,
}

impl Candidate {
    /// Completed and not screened out: the responses the estimates use.
    pub fn is_complete(&self) -> bool {
        self.submitted_at.is_some() && !self.screened_out
    }

    /// Seconds from the first view to the submission, when both are known.
    pub fn duration_secs(&self) -> Option<f64> {
        let (start, end) = (self.started_at?, self.submitted_at?);
        let ms = (end - start).num_milliseconds();
        (ms >= 0).then(|| ms as f64 / 1000.0)
    }
}

/// The flags of every completed response that has at least one (clean and incomplete
/// responses are absent).
pub fn flag_all(params: &Params, candidates: &[Candidate]) -> HashMap<i64, FlagSet> {
    let mut judging = Judging::default();
    for c in candidates {
        judging.add(c);
    }
    judging.finish(params)
}

/// The rules' inputs gathered one response at a time and kept compactly: a completed
/// response leaves its id and duration (16 bytes), its flags if it already has one, and
/// its submission time and fingerprints only when it has a fingerprint (the loader gives
/// only those another account shares). [`Judging::finish`] then applies the rules that
/// compare responses.
#[derive(Debug, Clone, Default)]
pub struct Judging {
    completed: usize,
    /// Completed responses with a known duration: id and seconds.
    timed: Vec<(i64, f64)>,
    /// The flags judged so far (confirmed checks, straight-lining).
    flags: HashMap<i64, FlagSet>,
    fingerprinted: Vec<Fingerprinted>,
}

/// A completed response with a fingerprint: id, submission, phone and name ones.
type Fingerprinted = (i64, NaiveDateTime, Option<String>, Option<String>);

impl Judging {
    /// One response; only completed ones are kept ([`Candidate::is_complete`]).
    pub fn add(&mut self, c: &Candidate) {
        let Some(submitted_at) = c.submitted_at.filter(|_| c.is_complete()) else {
            return;
        };
        self.completed += 1;
        if let Some(d) = c.duration_secs() {
            self.timed.push((c.response_id, d));
        }
        if c.confirmed_check {
            self.flags
                .entry(c.response_id)
                .or_default()
                .insert(Flag::Inconsistente);
        }
        if c.straight_lined {
            self.flags
                .entry(c.response_id)
                .or_default()
                .insert(Flag::LinhaReta);
        }
        if c.phone_fp.is_some() || c.name_bairro_fp.is_some() {
            self.fingerprinted.push((
                c.response_id,
                submitted_at,
                c.phone_fp.clone(),
                c.name_bairro_fp.clone(),
            ));
        }
    }

    /// Completed responses added.
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// The flags of every completed response that has at least one.
    pub fn finish(self, params: &Params) -> HashMap<i64, FlagSet> {
        let Judging {
            mut timed,
            mut flags,
            fingerprinted,
            ..
        } = self;
        let limit = speed::threshold(
            &mut timed,
            |t| t.1,
            params.speeder_fraction,
            params.speeder_min_responses,
        );
        if let Some(limit) = limit {
            for (id, d) in &timed {
                if *d < limit {
                    flags.entry(*id).or_default().insert(Flag::Rapido);
                }
            }
        }
        let keyed = |key: fn(&Fingerprinted) -> Option<&str>| {
            fingerprinted
                .iter()
                .filter_map(|f| Some((key(f)?, f.1, f.0)))
                .collect::<Vec<_>>()
        };
        let mut dups = Vec::new();
        if params.duplicate_phone {
            dups.extend(duplicates::later_ones(&keyed(|f| f.2.as_deref())));
        }
        if params.duplicate_name_bairro {
            dups.extend(duplicates::later_ones(&keyed(|f| f.3.as_deref())));
        }
        for id in dups {
            flags.entry(id).or_default().insert(Flag::Duplicado);
        }
        flags
    }
}

/// The sample flow of the report and the dashboard: how the people who signed up become
/// the responses the estimates use.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SampleFlow {
    /// Respondent accounts.
    pub signed_up: i64,
    /// Responses with at least one saved page.
    pub started: i64,
    /// Submitted and not screened out.
    pub completed: i64,
    /// Screened out, by rule key.
    pub screened_out: Vec<(String, i64)>,
    /// Completed responses with at least one flag.
    pub flagged: i64,
    /// Completed responses per flag (a response can have several).
    pub by_flag: Vec<(Flag, i64)>,
    /// Completed responses the estimates use: all completed ones, or the clean ones when
    /// flagged responses are excluded.
    pub used: i64,
    pub exclude_flagged: bool,
}

impl SampleFlow {
    /// The flow of `candidates` with their `flags` ([`flag_all`]).
    pub fn new(
        signed_up: i64,
        candidates: &[Candidate],
        flags: &HashMap<i64, FlagSet>,
        screened: &HashMap<i64, String>,
        exclude_flagged: bool,
    ) -> SampleFlow {
        let mut count = FlowCount::default();
        for c in candidates {
            let rule = c
                .screened_out
                .then(|| screened.get(&c.response_id).map_or("", String::as_str));
            let f = flags.get(&c.response_id).copied().unwrap_or_default();
            count.add(rule, c.is_complete(), f);
        }
        count.finish(signed_up, exclude_flagged)
    }

    pub fn screened_total(&self) -> i64 {
        self.screened_out.iter().map(|(_, n)| n).sum()
    }
}

/// A [`SampleFlow`] counted one response at a time, for a caller that reads the
/// responses in batches and keeps nothing per response (the report).
#[derive(Debug, Clone, Default)]
pub struct FlowCount {
    started: i64,
    completed: i64,
    flagged: i64,
    by_flag: [i64; Flag::ALL.len()],
    screened: std::collections::BTreeMap<String, i64>,
}

impl FlowCount {
    /// One response: the screen-out rule that ended it (if any), whether it is complete
    /// ([`Candidate::is_complete`]) and its flags.
    pub fn add(&mut self, screened_out: Option<&str>, complete: bool, flags: FlagSet) {
        self.started += 1;
        if let Some(rule) = screened_out {
            match self.screened.get_mut(rule) {
                Some(n) => *n += 1,
                None => {
                    self.screened.insert(rule.to_owned(), 1);
                }
            }
        }
        if !complete {
            return;
        }
        self.completed += 1;
        self.flagged += i64::from(!flags.is_empty());
        for (n, f) in self.by_flag.iter_mut().zip(Flag::ALL) {
            *n += i64::from(flags.contains(f));
        }
    }

    pub fn finish(self, signed_up: i64, exclude_flagged: bool) -> SampleFlow {
        SampleFlow {
            signed_up,
            started: self.started,
            completed: self.completed,
            screened_out: self.screened.into_iter().collect(),
            flagged: self.flagged,
            by_flag: Flag::ALL.into_iter().zip(self.by_flag).collect(),
            used: if exclude_flagged {
                self.completed - self.flagged
            } else {
                self.completed
            },
            exclude_flagged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(secs: i64) -> NaiveDateTime {
        NaiveDateTime::default() + TimeDelta::seconds(secs)
    }

    fn complete(id: i64, secs: i64) -> Candidate {
        Candidate {
            response_id: id,
            started_at: Some(at(0)),
            submitted_at: Some(at(secs) + TimeDelta::seconds(id)),
            ..Candidate::default()
        }
    }

    #[test]
    fn speeders_only_once_there_are_enough_responses() {
        let params = Params {
            speeder_min_responses: 5,
            ..Params::default()
        };
        let mut cs: Vec<Candidate> = (1..=4).map(|i| complete(i, 600)).collect();
        cs.push(complete(5, 60));
        // Five timed responses: median ≈ 602 s, a third is ≈ 200 s; 65 s is under it.
        let flags = flag_all(&params, &cs);
        assert_eq!(flags.get(&5).map(|f| f.contains(Flag::Rapido)), Some(true));
        assert_eq!(flags.len(), 1);
        // Four: too few for a median to mean anything.
        let flags = flag_all(&params, &cs[1..]);
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn drafts_and_screened_out_responses_are_never_flagged() {
        let mut draft = complete(1, 1);
        draft.submitted_at = None;
        draft.confirmed_check = true;
        let mut screened = complete(2, 1);
        screened.screened_out = true;
        screened.confirmed_check = true;
        let mut inconsistent = complete(3, 600);
        inconsistent.confirmed_check = true;
        let flags = flag_all(&Params::default(), &[draft, screened, inconsistent]);
        assert_eq!(flags.len(), 1);
        assert!(flags[&3].contains(Flag::Inconsistente));
    }

    #[test]
    fn duplicates_keep_the_earliest_completed_and_rules_can_be_off() {
        let mut a = complete(1, 600);
        let mut b = complete(2, 600);
        let mut c = complete(3, 600);
        a.phone_fp = Some("p".into());
        b.phone_fp = Some("p".into());
        c.name_bairro_fp = Some("n".into());
        b.name_bairro_fp = Some("n".into());
        let all = [a, b, c];
        let flags = flag_all(&Params::default(), &all);
        // 1 and 2 share a phone: 2 is later. 2 and 3 share a name: 3 is later.
        assert!(!flags.contains_key(&1));
        assert!(flags[&2].contains(Flag::Duplicado));
        assert!(flags[&3].contains(Flag::Duplicado));
        let phone_only = Params {
            duplicate_name_bairro: false,
            ..Params::default()
        };
        let flags = flag_all(&phone_only, &all);
        assert!(flags.contains_key(&2) && !flags.contains_key(&3));
    }

    #[test]
    fn the_sample_flow_adds_up() {
        let mut cs: Vec<Candidate> = (1..=4).map(|i| complete(i, 600)).collect();
        cs[0].confirmed_check = true;
        cs[1].screened_out = true;
        let mut draft = complete(9, 1);
        draft.submitted_at = None;
        cs.push(draft);
        let flags = flag_all(&Params::default(), &cs);
        let screened = HashMap::from([(2, "idade".to_string())]);
        let flow = SampleFlow::new(7, &cs, &flags, &screened, true);
        assert_eq!(flow.started, 5);
        assert_eq!(flow.completed, 3);
        assert_eq!(flow.screened_out, vec![("idade".to_string(), 1)]);
        assert_eq!(flow.flagged, 1);
        assert_eq!(flow.used, 2);
        let kept = SampleFlow::new(7, &cs, &flags, &screened, false);
        assert_eq!(kept.used, 3);
    }
}
