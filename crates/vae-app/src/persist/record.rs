//! What an autosave holds besides the checkpoint: the curve's history, flattened to numbers (an
//! IndexedDB value stores a `Float64Array` as it is), and read back with every count checked,
//! since a stored value may come from an older page or be damaged.

use crate::lab_types::{Curve, LikelihoodPoint, TestPoint, TrainPoint};

/// The layout's version, first in the array.
const VERSION: f64 = 1.0;
const TRAIN_FIELDS: usize = 4;
const TEST_FIELDS: usize = 6;
const LIKELIHOOD_FIELDS: usize = 5;

/// `[version, trains, tests, (step, −ELBO, BCE, KL)…, (epoch, step, train ms, −ELBO, BCE, KL)…]`,
/// then, where the curve has log-likelihood estimates, `[estimates, (step, K, images, −L_K,
/// standard error)…]` (a page before them wrote none, and reads the same layout version).
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
    if !curve.likelihood.is_empty() {
        out.push(curve.likelihood.len() as f64);
        for p in &curve.likelihood {
            out.extend([
                p.step as f64,
                f64::from(p.samples),
                p.images as f64,
                p.neg_log_likelihood,
                p.standard_error,
            ]);
        }
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
    let points = trains * TRAIN_FIELDS + tests * TEST_FIELDS;
    let estimates = match rest.get(points) {
        None => 0,
        Some(&n) => count(n)?,
    };
    let needed = points
        + if rest.len() > points {
            1 + estimates * LIKELIHOOD_FIELDS
        } else {
            0
        };
    if rest.len() != needed {
        return Err(format!(
            "the saved curve holds {} numbers where {trains} steps, {tests} epochs and \
             {estimates} estimates need {needed}",
            rest.len(),
        ));
    }
    let step = |v: f64| count(v).map(|n| n as u64);
    let (points, estimates) = rest.split_at(points);
    let (train, test) = points.split_at(trains * TRAIN_FIELDS);
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
    let likelihood = estimates
        .get(1..)
        .unwrap_or_default()
        .chunks_exact(LIKELIHOOD_FIELDS)
        .map(|p| {
            let samples = count(p[1])?;
            if samples == 0 || !p[3].is_finite() || !p[4].is_finite() {
                return Err(format!("the saved estimate {p:?} is not one"));
            }
            Ok(LikelihoodPoint {
                step: step(p[0])?,
                samples: u32::try_from(samples).map_err(|e| e.to_string())?,
                images: count(p[2])?,
                neg_log_likelihood: p[3],
                standard_error: p[4],
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Curve {
        train,
        test,
        likelihood,
    })
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
            likelihood: vec![LikelihoodPoint {
                step: 390,
                samples: 100,
                images: 1000,
                neg_log_likelihood: 123.5,
                standard_error: 0.75,
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
