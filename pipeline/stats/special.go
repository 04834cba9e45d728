package stats

import (
	"errors"
	"fmt"
	"math"
)

// Numerical special functions behind the statistical tests.

const (
	specialEps     = 1e-15
	specialMaxIter = 100000
	tinyFloat      = 1e-300
)

// lgamma returns log|Γ(x)| for x > 0.
func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// lchoose returns log C(n, k) for 0 <= k <= n.
func lchoose(n, k float64) float64 {
	return lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1)
}

// NormalCDF returns Φ(x), the standard normal cumulative distribution
// function, accurate in both tails.
func NormalCDF(x float64) float64 {
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// NormalSF returns 1-Φ(x) without cancellation for large x.
func NormalSF(x float64) float64 {
	return 0.5 * math.Erfc(x/math.Sqrt2)
}

// NormalQuantile returns Φ⁻¹(p) for p in (0, 1). It returns an error for p
// outside (0, 1).
func NormalQuantile(p float64) (float64, error) {
	if !(p > 0 && p < 1) {
		return 0, fmt.Errorf("normal quantile: probability %v outside (0, 1)", p)
	}
	if p > 0.5 {
		z, err := NormalQuantile(1 - p)
		return -z, err
	}
	// math.Erfcinv is only accurate to ~1e-7 in the far tail; polish with
	// Newton steps on the accurate Φ.
	z := -math.Sqrt2 * math.Erfcinv(2*p)
	for range 3 {
		d := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
		if d == 0 {
			break
		}
		z -= (NormalCDF(z) - p) / d
	}
	return z, nil
}

// logNormalCDF returns log Φ(x), finite for x >= -37.
func logNormalCDF(x float64) float64 {
	if x < -37 {
		x = -37
	}
	return math.Log(NormalCDF(x))
}

// RegularizedGammaP returns the regularized lower incomplete gamma function
// P(a, x) = γ(a, x)/Γ(a) for a > 0 and x >= 0.
func RegularizedGammaP(a, x float64) (float64, error) {
	if err := checkGammaArgs(a, x); err != nil {
		return 0, err
	}
	if x == 0 {
		return 0, nil
	}
	if x < a+1 {
		return gammaSeries(a, x), nil
	}
	return 1 - gammaContinuedFraction(a, x), nil
}

// RegularizedGammaQ returns the regularized upper incomplete gamma function
// Q(a, x) = 1 - P(a, x) for a > 0 and x >= 0, computed without
// cancellation in the upper tail. The chi-square survival function with k
// degrees of freedom is Q(k/2, x/2).
func RegularizedGammaQ(a, x float64) (float64, error) {
	if err := checkGammaArgs(a, x); err != nil {
		return 0, err
	}
	if x == 0 {
		return 1, nil
	}
	if x < a+1 {
		return 1 - gammaSeries(a, x), nil
	}
	return gammaContinuedFraction(a, x), nil
}

func checkGammaArgs(a, x float64) error {
	if !(a > 0) || math.IsInf(a, 0) {
		return fmt.Errorf("incomplete gamma: shape %v must be positive and finite", a)
	}
	if !(x >= 0) || math.IsInf(x, 0) {
		return fmt.Errorf("incomplete gamma: argument %v must be non-negative and finite", x)
	}
	return nil
}

// gammaSeries evaluates P(a, x) by its power series (x < a+1).
func gammaSeries(a, x float64) float64 {
	ap := a
	sum := 1 / a
	del := sum
	for i := 0; i < specialMaxIter; i++ {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*specialEps {
			break
		}
	}
	return clamp01(sum * math.Exp(-x+a*math.Log(x)-lgamma(a)))
}

// gammaContinuedFraction evaluates Q(a, x) by Lentz's continued fraction
// (x >= a+1).
func gammaContinuedFraction(a, x float64) float64 {
	b := x + 1 - a
	c := 1 / tinyFloat
	d := 1 / b
	h := d
	for i := 1; i < specialMaxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tinyFloat {
			d = tinyFloat
		}
		c = b + an/c
		if math.Abs(c) < tinyFloat {
			c = tinyFloat
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < specialEps {
			break
		}
	}
	return clamp01(math.Exp(-x+a*math.Log(x)-lgamma(a)) * h)
}

// ChiSquareSF returns P(χ²_df >= x), the chi-square survival function.
func ChiSquareSF(x float64, df int) (float64, error) {
	if df < 1 {
		return 0, fmt.Errorf("chi-square survival: degrees of freedom %d must be positive", df)
	}
	if x <= 0 {
		return 1, nil
	}
	q, err := RegularizedGammaQ(float64(df)/2, x/2)
	if err != nil {
		return 0, fmt.Errorf("chi-square survival: %w", err)
	}
	return q, nil
}

// RegularizedBeta returns the regularized incomplete beta function
// I_x(a, b) for a, b > 0 and 0 <= x <= 1.
func RegularizedBeta(x, a, b float64) (float64, error) {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return 0, fmt.Errorf("incomplete beta: shapes %v and %v must be positive and finite", a, b)
	}
	if !(x >= 0 && x <= 1) {
		return 0, fmt.Errorf("incomplete beta: argument %v outside [0, 1]", x)
	}
	if x == 0 {
		return 0, nil
	}
	if x == 1 {
		return 1, nil
	}
	front := math.Exp(lgamma(a+b) - lgamma(a) - lgamma(b) + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return clamp01(front * betaContinuedFraction(x, a, b) / a), nil
	}
	return clamp01(1 - front*betaContinuedFraction(1-x, b, a)/b), nil
}

// betaContinuedFraction evaluates the continued fraction of I_x(a, b) by
// the modified Lentz method.
func betaContinuedFraction(x, a, b float64) float64 {
	qab := a + b
	qap := a + 1
	qam := a - 1
	c := 1.0
	d := 1 - qab*x/qap
	if math.Abs(d) < tinyFloat {
		d = tinyFloat
	}
	d = 1 / d
	h := d
	for m := 1; m < specialMaxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		// Modified Lentz: one step for the even term, one for the odd.
		step := func(aa float64) float64 {
			d = 1 + aa*d
			if math.Abs(d) < tinyFloat {
				d = tinyFloat
			}
			c = 1 + aa/c
			if math.Abs(c) < tinyFloat {
				c = tinyFloat
			}
			d = 1 / d
			return d * c
		}
		h *= step(fm * (b - fm) * x / ((qam + m2) * (a + m2)))
		del := step(-(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2)))
		h *= del
		if math.Abs(del-1) < specialEps {
			break
		}
	}
	return h
}

// BinomialCDF returns P(X <= k) for X ~ Binomial(n, p).
func BinomialCDF(k, n int64, p float64) (float64, error) {
	if n < 0 {
		return 0, fmt.Errorf("binomial cdf: trials %d must be non-negative", n)
	}
	if !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("binomial cdf: probability %v outside [0, 1]", p)
	}
	switch {
	case k < 0:
		return 0, nil
	case k >= n:
		return 1, nil
	case p == 0:
		return 1, nil
	case p == 1:
		return 0, nil
	}
	// P(X <= k) = I_{1-p}(n-k, k+1).
	v, err := RegularizedBeta(1-p, float64(n-k), float64(k+1))
	if err != nil {
		return 0, fmt.Errorf("binomial cdf: %w", err)
	}
	return v, nil
}

func clamp01(v float64) float64 {
	switch {
	case v < 0 || math.IsNaN(v):
		return 0
	case v > 1:
		return 1
	}
	return v
}

// finiteOr returns v when it is finite and def otherwise. It is the last
// line of defence against NaN/Inf escaping into results.
func finiteOr(v, def float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return def
	}
	return v
}

var errNonFinite = errors.New("value is not finite")

func checkAlpha(alpha float64) error {
	if !(alpha > 0 && alpha < 1) {
		return fmt.Errorf("alpha %v outside (0, 1)", alpha)
	}
	return nil
}
