//! What an autosave holds besides the checkpoint: the curve's history, flattened to numbers (an
//! IndexedDB value stores a `Float64Array` as it is), and read back with every count checked,
//! since a stored value may come from an older page or be damaged.

use crate::lab_types::{Curve, TestPoint, TrainPoint};

/// The layout's version, first in the array.
const VERSION: f64 = 1.0;
const TRAIN_FIELDS: usize = 4;
const TEST_FIELDS: usize = 6;

/// `[version, trains, tests, (step, −ELBO, BCE, KL)…, (epoch, step, train ms, −ELBO, BCE, KL)…]`.
pub fn flatten_curve(curve: &Curve) -> Vec<f64> {
    let mut out =
        Vec::with_capacity(3 + curve.train.len() * TRAIN_FIELDS + curve.test.len() * TEST_FIELDS);
    out.extend([VERSION, curve.train.len() as f64, curve.test.len() as f64]);
    for p in &curve.train {
        out.extend([
            p.step as f64,
            f64::from(p.neg_elbo),
            f64::from(p.bce),
            f64::from(p.kl),
        ]);
    }
    for p in &curve.test {
        out.extend([
            p.epoch as f64,
            p.step as f64,
            p.train_ms,
            p.neg_elbo,
            p.bce,
            p.kl,
        ]);
    }
    out
}

/// The curve [`flatten_curve`] made, or why these numbers are not one.
pub fn unflatten_curve(values: &[f64]) -> Result<Curve, String> {
    let [version, trains, tests, rest @ ..] = values else {
        return Err("the saved curve is empty".into());
    };
    if *version != VERSION {
        return Err(format!(
            "the saved curve has layout {version}, this page reads {VERSION}"
        ));
    }
    let count = |n: f64| {
        (n.fract() == 0.0 && (0.0..=1e8).contains(&n))
            .then_some(n as usize)
            .ok_or_else(|| format!("the saved curve's count {n} is not a count"))
    };
    let (trains, tests) = (count(*trains)?, count(*tests)?);
    if rest.len() != trains * TRAIN_FIELDS + tests * TEST_FIELDS {
        return Err(format!(
            "the saved curve holds {} numbers where {trains} steps and {tests} epochs need {}",
            rest.len(),
            trains * TRAIN_FIELDS + tests * TEST_FIELDS
        ));
    }
    let step = |v: f64| count(v).map(|n| n as u64);
    let (train, test) = rest.split_at(trains * TRAIN_FIELDS);
    let train = train
        .chunks_exact(TRAIN_FIELDS)
        .map(|p| {
            Ok(TrainPoint {
                step: step(p[0])?,
                neg_elbo: p[1] as f32,
                bce: p[2] as f32,
                kl: p[3] as f32,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let test = test
        .chunks_exact(TEST_FIELDS)
        .map(|p| {
            Ok(TestPoint {
                epoch: step(p[0])?,
                step: step(p[1])?,
                train_ms: p[2],
                neg_elbo: p[3],
                bce: p[4],
                kl: p[5],
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Curve { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve() -> Curve {
        Curve {
            train: (1..=5)
                .map(|step| TrainPoint {
                    step,
                    neg_elbo: 200.0 - step as f32,
                    bce: 150.5,
                    kl: 20.25,
                })
                .collect(),
            test: vec![TestPoint {
                epoch: 1,
                step: 390,
                train_ms: 12345.5,
                neg_elbo: 127.25,
                bce: 105.5,
                kl: 21.75,
            }],
        }
    }

    #[test]
    fn a_curve_survives_the_trip() {
        let curve = curve();
        assert_eq!(unflatten_curve(&flatten_curve(&curve)).unwrap(), curve);
        assert_eq!(
            unflatten_curve(&flatten_curve(&Curve::default())).unwrap(),
            Curve::default()
        );
    }

    #[test]
    fn damaged_numbers_are_refused() {
        let good = flatten_curve(&curve());
        assert!(unflatten_curve(&[]).is_err());
        assert!(unflatten_curve(&good[..good.len() - 1]).is_err());
        let mut version = good.clone();
        version[0] = 2.0;
        assert!(unflatten_curve(&version).unwrap_err().contains("layout"));
        let mut count = good.clone();
        count[1] = 1e12;
        assert!(unflatten_curve(&count).is_err());
        let mut step = good.clone();
        step[3] = -1.0;
        assert!(unflatten_curve(&step).is_err());
        let mut nan = good;
        nan[2] = f64::NAN;
        assert!(unflatten_curve(&nan).is_err());
    }
}
