//! What the latent space holds, from the posteriors of a data set: how much each dimension
//! carries (its KL to the prior), the directions the data spreads along (principal axes), points
//! projected on two axes, and the straight lines the decoder draws (grids, interpolations,
//! per-axis strips). Plain CPU code on the posteriors the GPU read back; the lines' points are
//! also the reference the GPU's `latent_lines.wgsl` is tested against.

/// A dimension counts as active when the data's average KL along it is above this many nats:
/// below it, the posterior is the prior whatever the image (posterior collapse) and moving that
/// slider changes nothing.
pub const ACTIVE_KL_NATS: f64 = 0.01;

/// Each dimension's KL(q(z_d|x) ‖ N(0, 1)) averaged over the rows of `mean` and `logvar`
/// (`[rows, latent]`): ½(μ² + exp(logvar) − 1 − logvar). They sum to the data's mean KL.
pub fn kl_per_dimension(mean: &[f32], logvar: &[f32], latent: usize) -> Vec<f64> {
    let rows = mean.len() / latent.max(1);
    let mut sums = vec![0.0f64; latent];
    for (m, v) in mean.chunks_exact(latent).zip(logvar.chunks_exact(latent)) {
        for ((sum, &m), &v) in sums.iter_mut().zip(m).zip(v) {
            let (m, v) = (f64::from(m), f64::from(v));
            *sum += 0.5 * (m * m + v.exp() - 1.0 - v);
        }
    }
    sums.iter().map(|sum| sum / rows.max(1) as f64).collect()
}

/// The mean of the rows of `points` (`[rows, latent]`).
pub fn centroid(points: &[f32], latent: usize) -> Vec<f64> {
    let rows = points.len() / latent.max(1);
    let mut sums = vec![0.0f64; latent];
    for row in points.chunks_exact(latent) {
        for (sum, &v) in sums.iter_mut().zip(row) {
            *sum += f64::from(v);
        }
    }
    sums.iter().map(|sum| sum / rows.max(1) as f64).collect()
}

/// The `count` principal axes of `points` (`[rows, latent]`): unit eigenvectors of their
/// covariance, largest variance first, each with its variance. Each axis's sign is fixed (its
/// largest component positive) so a map refreshed after more training does not flip for nothing.
pub fn principal_axes(points: &[f32], latent: usize, count: usize) -> Vec<(Vec<f64>, f64)> {
    let rows = points.len() / latent.max(1);
    let center = centroid(points, latent);
    let mut covariance = vec![0.0f64; latent * latent];
    let mut centred = vec![0.0f64; latent];
    for row in points.chunks_exact(latent) {
        for ((out, &v), c) in centred.iter_mut().zip(row).zip(&center) {
            *out = f64::from(v) - c;
        }
        for i in 0..latent {
            for j in i..latent {
                covariance[i * latent + j] += centred[i] * centred[j];
            }
        }
    }
    let scale = 1.0 / (rows.max(2) - 1) as f64;
    for i in 0..latent {
        for j in i..latent {
            let value = covariance[i * latent + j] * scale;
            covariance[i * latent + j] = value;
            covariance[j * latent + i] = value;
        }
    }
    let (values, vectors) = symmetric_eigen(&covariance, latent);
    let mut order: Vec<usize> = (0..latent).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
        .into_iter()
        .take(count)
        .map(|k| {
            let mut axis: Vec<f64> = (0..latent).map(|i| vectors[i * latent + k]).collect();
            let largest = axis
                .iter()
                .fold(0.0f64, |m, &v| if v.abs() > m.abs() { v } else { m });
            if largest < 0.0 {
                axis.iter_mut().for_each(|v| *v = -*v);
            }
            (axis, values[k].max(0.0))
        })
        .collect()
}

/// Eigenvalues and eigenvectors (columns of the returned `[n, n]`) of the symmetric `a`, by
/// cyclic Jacobi rotations: exact to rounding for the small matrices here (n ≤ 64).
fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Two axes to look at the latent space along, and the point they meet at.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub origin: Vec<f32>,
    pub x_axis: Vec<f32>,
    pub y_axis: Vec<f32>,
}

impl Plane {
    /// Latent dimensions `x` and `y` themselves, through z = 0: a point's coordinates are its
    /// values there, as the sliders show them.
    pub fn dimensions(latent: usize, x: usize, y: usize) -> Self {
        let unit = |d: usize| (0..latent).map(|i| f32::from(u8::from(i == d))).collect();
        Self {
            origin: vec![0.0; latent],
            x_axis: unit(x),
            y_axis: unit(y),
        }
    }

    /// The two principal axes of `points`, through their centroid. With one dimension only,
    /// the second axis is zero.
    pub fn principal(points: &[f32], latent: usize) -> Self {
        let axes = principal_axes(points, latent, 2);
        let to_f32 = |axis: Option<&(Vec<f64>, f64)>| match axis {
            Some((axis, _)) => axis.iter().map(|&v| v as f32).collect(),
            None => vec![0.0; latent],
        };
        Self {
            origin: centroid(points, latent).iter().map(|&v| v as f32).collect(),
            x_axis: to_f32(axes.first()),
            y_axis: to_f32(axes.get(1)),
        }
    }

    /// Each row of `points` (`[rows, latent]`) as (x, y): (p − origin)·axis.
    pub fn project(&self, points: &[f32]) -> Vec<[f32; 2]> {
        let latent = self.origin.len();
        points
            .chunks_exact(latent)
            .map(|row| {
                let (mut x, mut y) = (0.0f64, 0.0f64);
                for (((&v, &o), &ax), &ay) in row
                    .iter()
                    .zip(&self.origin)
                    .zip(&self.x_axis)
                    .zip(&self.y_axis)
                {
                    let centred = f64::from(v) - f64::from(o);
                    x += centred * f64::from(ax);
                    y += centred * f64::from(ay);
                }
                [x as f32, y as f32]
            })
            .collect()
    }
}

/// Straight lines through the latent space, each sampled at the same parameters t:
/// point p of line l is origin_l + t_p · direction_l.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentLines {
    pub latent: usize,
    /// `[lines, latent]`.
    pub origins: Vec<f32>,
    /// `[lines, latent]`.
    pub directions: Vec<f32>,
    /// `[points]`.
    pub t: Vec<f32>,
}

impl LatentLines {
    pub fn lines(&self) -> usize {
        self.origins.len() / self.latent.max(1)
    }

    pub fn points(&self) -> usize {
        self.t.len()
    }

    /// Every point, `[lines · points, latent]`, line by line: what `latent_lines.wgsl` computes.
    pub fn evaluate(&self) -> Vec<f32> {
        let latent = self.latent;
        let mut z = Vec::with_capacity(self.lines() * self.points() * latent);
        for (origin, direction) in self
            .origins
            .chunks_exact(latent)
            .zip(self.directions.chunks_exact(latent))
        {
            for &t in &self.t {
                z.extend(origin.iter().zip(direction).map(|(&o, &d)| o + t * d));
            }
        }
        z
    }

    /// A `side` × `side` grid around `center` over `plane`'s two axes, `range` either way:
    /// rows go down the y axis (+range at the top, as a chart's), columns along the x axis. With
    /// an odd side the middle cell is `center` exactly.
    pub fn grid(center: &[f32], plane: &Plane, side: usize, range: f32) -> Self {
        let steps = symmetric_steps(side, range);
        let mut origins = Vec::with_capacity(side * center.len());
        let mut directions = Vec::with_capacity(side * center.len());
        for &s in steps.iter().rev() {
            origins.extend(center.iter().zip(&plane.y_axis).map(|(&c, &y)| c + s * y));
            directions.extend_from_slice(&plane.x_axis);
        }
        Self {
            latent: center.len(),
            origins,
            directions,
            t: steps,
        }
    }

    /// `points` evenly spaced from `from` to `to`, both included.
    pub fn interpolation(from: &[f32], to: &[f32], points: usize) -> Self {
        let last = (points.max(2) - 1) as f32;
        Self {
            latent: from.len(),
            origins: from.to_vec(),
            directions: to.iter().zip(from).map(|(&b, &a)| b - a).collect(),
            t: (0..points).map(|p| p as f32 / last).collect(),
        }
    }

    /// One line per latent dimension: `center` with that dimension swept over `points` values
    /// from −range to +range, the others held.
    pub fn axis_strips(center: &[f32], points: usize, range: f32) -> Self {
        let latent = center.len();
        let mut origins = Vec::with_capacity(latent * latent);
        let mut directions = vec![0.0; latent * latent];
        for d in 0..latent {
            let mut origin = center.to_vec();
            origin[d] = 0.0;
            origins.extend(origin);
            directions[d * latent + d] = 1.0;
        }
        Self {
            latent,
            origins,
            directions,
            t: symmetric_steps(points, range),
        }
    }
}

/// `count` values from −range to +range, evenly spaced, symmetric about 0 (which is exactly
/// one of them when `count` is odd).
fn symmetric_steps(count: usize, range: f32) -> Vec<f32> {
    let last = (count.max(2) - 1) as f32;
    (0..count)
        .map(|i| range * (2.0 * i as f32 - last) / last)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitMix64;

    #[test]
    fn per_dimension_kl_is_the_analytic_kl_and_sums_to_the_total() {
        // μ = 1, logvar = ln 4 in one dimension: ½(1 + 4 − 1 − ln 4) = 2 − ln 2.
        let kl = kl_per_dimension(&[1.0, 0.0], &[4f32.ln(), 0.0], 2);
        assert!(
            (kl[0] - (2.0 - std::f64::consts::LN_2)).abs() < 1e-6,
            "{kl:?}"
        );
        assert_eq!(kl[1], 0.0);
        let mut rng = SplitMix64::new(3);
        let (mean, logvar) = (
            rng.uniform_vec(60, -2.0, 2.0),
            rng.uniform_vec(60, -3.0, 1.0),
        );
        let total: f64 = kl_per_dimension(&mean, &logvar, 6).iter().sum();
        let rows: Vec<f64> = crate::model::kl_rows(
            &mean.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
            &logvar.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
            6,
        );
        let expected = rows.iter().sum::<f64>() / 10.0;
        assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    }

    #[test]
    fn principal_axes_find_a_known_spread() {
        // Points along (3, 4)/5 with a little spread along (−4, 3)/5, around (1, 2, 0).
        let mut rng = SplitMix64::new(5);
        let mut points = Vec::new();
        for _ in 0..2000 {
            let (a, b) = (rng.uniform(-3.0, 3.0), rng.uniform(-0.3, 0.3));
            points.extend([1.0 + 0.6 * a - 0.8 * b, 2.0 + 0.8 * a + 0.6 * b, 0.0]);
        }
        let axes = principal_axes(&points, 3, 3);
        let (first, variance) = &axes[0];
        assert!(
            (first[0] - 0.6).abs() < 1e-3 && (first[1] - 0.8).abs() < 1e-3,
            "{first:?}"
        );
        assert!(
            (variance - 3.0).abs() < 0.25,
            "variance {variance} of U(−3, 3)"
        );
        assert!(axes[1].1 < 0.05 && axes[2].1 < 1e-9, "{axes:?}");
        let plane = Plane::principal(&points, 3);
        assert!((plane.origin[0] - 1.0).abs() < 0.1 && (plane.origin[1] - 2.0).abs() < 0.1);
        // Projected, the first coordinate is the position along the line.
        let xy = plane.project(&points[..3]);
        let along = 0.6 * (points[0] - plane.origin[0]) + 0.8 * (points[1] - plane.origin[1]);
        assert!((xy[0][0] - along).abs() < 1e-3);
    }

    #[test]
    fn a_dimensions_plane_reads_the_coordinates_themselves() {
        let plane = Plane::dimensions(4, 2, 0);
        assert_eq!(plane.project(&[1.0, 2.0, 3.0, 4.0]), vec![[3.0, 1.0]]);
    }

    #[test]
    fn a_grid_is_centred_on_its_point_and_spans_its_range() {
        let center = [0.5, -1.0, 2.0];
        let plane = Plane::dimensions(3, 0, 1);
        let lines = LatentLines::grid(&center, &plane, 5, 2.0);
        let z = lines.evaluate();
        assert_eq!(z.len(), 25 * 3);
        let cell = |row: usize, column: usize| &z[(row * 5 + column) * 3..][..3];
        assert_eq!(cell(2, 2), center, "the middle cell is the centre exactly");
        assert_eq!(cell(0, 0), [-1.5, 1.0, 2.0], "top left: −x, +y");
        assert_eq!(cell(4, 4), [2.5, -3.0, 2.0], "bottom right: +x, −y");
    }

    #[test]
    fn an_interpolation_runs_from_one_point_to_the_other() {
        let lines = LatentLines::interpolation(&[0.0, 1.0], &[2.0, -1.0], 5);
        let z = lines.evaluate();
        assert_eq!(&z[..2], [0.0, 1.0]);
        assert_eq!(&z[4..6], [1.0, 0.0]);
        assert_eq!(&z[8..], [2.0, -1.0]);
    }

    #[test]
    fn axis_strips_sweep_one_dimension_each() {
        let lines = LatentLines::axis_strips(&[0.3, 0.7], 3, 2.0);
        assert_eq!(
            lines.evaluate(),
            vec![-2.0, 0.7, 0.0, 0.7, 2.0, 0.7, 0.3, -2.0, 0.3, 0.0, 0.3, 2.0]
        );
    }
}
