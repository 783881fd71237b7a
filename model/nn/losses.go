package nn

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// pairwiseDistances returns ‖x_i − y_j‖₂ for x [B,N,D], y [B,M,D] → [B,N,M],
// via ‖x‖² + ‖y‖² − 2x·y, clamped at 0, with sqrt(d² + eps) so that the
// gradient at d = 0 (a point against itself) is finite (0) instead of NaN.
func pairwiseDistances(x, y *Node, eps float64) *Node {
	xx := ReduceSum(Square(x), -1)     // [B,N]
	yy := ReduceSum(Square(y), -1)     // [B,M]
	xy := Einsum("bnd,bmd->bnm", x, y) // [B,N,M]
	d2 := Sub(Add(InsertAxes(xx, -1), InsertAxes(yy, 1)), MulScalar(xy, 2))
	d2 = MaxScalar(d2, 0)
	return Sqrt(AddScalar(d2, eps))
}

// pairMean is the mean of d [B,N,M] over pairs where both cells are real
// (xMask [B,N], yMask [B,M] bool; nil = all real) → [B].
func pairMean(d, xMask, yMask *Node) *Node {
	if xMask == nil && yMask == nil {
		return ReduceMean(d, 1, 2)
	}
	B, N, M := d.Shape().Dim(0), d.Shape().Dim(1), d.Shape().Dim(2)
	g := d.Graph()
	if xMask == nil {
		xMask = Ones(g, shapes.Make(dtypes.Bool, B, N))
	}
	if yMask == nil {
		yMask = Ones(g, shapes.Make(dtypes.Bool, B, M))
	}
	pm := LogicalAnd(BroadcastToDims(InsertAxes(xMask, -1), B, N, M), BroadcastToDims(InsertAxes(yMask, 1), B, N, M))
	return MaskedReduceMean(d, pm, 1, 2)
}

// EnergyDistance returns, per set b, the energy-distance MMD between the
// point sets x [B,N,D] and y [B,M,D] with the energy kernel k(a,b) = −‖a−b‖₂:
//
//	E(b) = E‖X−Y‖ − ½ E‖X−X'‖ − ½ E‖Y−Y'‖
//
// (V-statistics: means over all pairs of real cells, diagonal included) —
// half the energy distance of Székely & Rizzo, which is exactly what
// geomloss.SamplesLoss("energy") returns and what STATE's ST trains on
// (Adduri et al. 2025, §4.2.2.4). It is ≥ 0 and 0 iff the two empirical
// distributions are equal. xMask [B,N] / yMask [B,M] (bool, true = real
// cell; nil = all real) exclude padding. Output: [B], dtype of x.
func EnergyDistance(x, y, xMask, yMask *Node) *Node {
	checkSets("EnergyDistance", x, y)
	const eps = 1e-8
	dxy := pairMean(pairwiseDistances(x, y, eps), xMask, yMask)
	dxx := pairMean(pairwiseDistances(x, x, eps), xMask, xMask)
	dyy := pairMean(pairwiseDistances(y, y, eps), yMask, yMask)
	return Sub(dxy, MulScalar(Add(dxx, dyy), 0.5))
}

// MMDRBF returns, per set, the squared maximum mean discrepancy (biased
// V-statistic) between x [B,N,D] and y [B,M,D] with the Gaussian kernel
// k(a,b) = exp(−‖a−b‖² / (2σ²)):
//
//	MMD²(b) = E k(X,X') + E k(Y,Y') − 2 E k(X,Y)
//
// (Gretton et al. 2012). Masks as in EnergyDistance. Output [B].
func MMDRBF(x, y, xMask, yMask *Node, sigma float64) *Node {
	checkSets("MMDRBF", x, y)
	if !(sigma > 0) {
		panic(fmt.Sprintf("model: MMDRBF: sigma must be > 0, got %g", sigma))
	}
	k := func(a, b *Node) *Node {
		d := pairwiseDistances(a, b, 0)
		return Exp(MulScalar(Square(d), -1/(2*sigma*sigma)))
	}
	kxx := pairMean(k(x, x), xMask, xMask)
	kyy := pairMean(k(y, y), yMask, yMask)
	kxy := pairMean(k(x, y), xMask, yMask)
	return Sub(Add(kxx, kyy), MulScalar(kxy, 2))
}

func checkSets(name string, x, y *Node) {
	if x.Rank() != 3 || y.Rank() != 3 || x.Shape().Dim(0) != y.Shape().Dim(0) || x.Shape().Dim(2) != y.Shape().Dim(2) {
		panic(fmt.Sprintf("model: %s: want x [B,N,D] and y [B,M,D], got %s and %s", name, x.Shape(), y.Shape()))
	}
}

// LogGamma returns ln Γ(x) elementwise for x > 0 (float32 or float64),
// using the Lanczos approximation (g = 7, 9 coefficients, Numerical
// Recipes / Godfrey) on x+1 and ln Γ(x) = ln Γ(x+1) − ln x. Relative error
// < 1e-6 in float32 against math.Lgamma on (0, 1e4] (see tests). GoMLX
// v0.28 has no lgamma op. It takes two logarithms per element (ln t and
// ln(sum/x)): on the go backend Log is a scalar loop and dominates the
// cost of a negative-binomial loss.
func LogGamma(x *Node) *Node {
	coef := []float64{0.99999999999980993, 676.5203681218851, -1259.1392167224028,
		771.32342877765313, -176.61502916214059, 12.507343278686905,
		-0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7}
	z := x // lgamma(x+1) = lanczos at z = x (the usual form takes z-1)
	sum := Scalar(x.Graph(), x.DType(), coef[0])
	sum = BroadcastToShape(sum, x.Shape())
	for i := 1; i < len(coef); i++ {
		sum = Add(sum, DivScalarReverse(AddScalar(z, float64(i)), coef[i]))
	}
	t := AddScalar(z, 7.5)
	// ln Γ(x) = ½ln 2π + (z+½) ln t − t + ln(sum/x)
	return Add(Sub(Add(Scalar(x.Graph(), x.DType(), 0.5*math.Log(2*math.Pi)), Mul(AddScalar(z, 0.5), Log(t))), t), Log(Div(sum, x)))
}

// DivScalarReverse returns c / x elementwise.
func DivScalarReverse(x *Node, c float64) *Node {
	return Div(Scalar(x.Graph(), x.DType(), c), x)
}

// NegativeBinomialNLL returns the elementwise negative log-likelihood of
// counts y under a negative binomial with mean mu > 0 and inverse
// dispersion theta > 0 (variance mu + mu²/theta), the STACK/scVI
// parameterisation:
//
//	−ln NB(y; μ, θ) = −[lnΓ(y+θ) − lnΓ(θ) − lnΓ(y+1) + θ ln(θ/(θ+μ)) + y ln(μ/(θ+μ))]
//
// Shapes broadcast like Add. eps (1e-8) guards the logarithms (scvi-tools
// log_nb_positive).
func NegativeBinomialNLL(y, mu, theta *Node) *Node {
	return NegativeBinomialNLLWithLogFactorial(y, LogGamma(OnePlus(y)), mu, theta)
}

// NegativeBinomialNLLWithLogFactorial is NegativeBinomialNLL with
// lnΓ(y+1) = ln y! given: it depends on the data only, so a training loop
// can compute it once outside the graph (math.Lgamma, zero for y = 0)
// and save two logarithms per entry.
func NegativeBinomialNLLWithLogFactorial(y, logFactorial, mu, theta *Node) *Node {
	const eps = 1e-8
	logThetaMu := Log(AddScalar(Add(theta, mu), eps))
	ll := Sub(Sub(LogGamma(Add(y, theta)), LogGamma(theta)), logFactorial)
	ll = Add(ll, Mul(theta, Sub(Log(AddScalar(theta, eps)), logThetaMu)))
	ll = Add(ll, Mul(y, Sub(Log(AddScalar(mu, eps)), logThetaMu)))
	return Neg(ll)
}

// CrossEntropyLogits returns the mean over real positions of
// −log softmax(logits)[label]: logits [..., K], labels int [...] in [0,K),
// mask bool [...] (nil = all). Scalar output.
func CrossEntropyLogits(logits, labels, mask *Node) *Node {
	K := logits.Shape().Dim(-1)
	if labels.Rank() != logits.Rank()-1 {
		panic(fmt.Sprintf("model: CrossEntropyLogits: labels %s must have one axis less than logits %s", labels.Shape(), logits.Shape()))
	}
	logp := LogSoftmax(logits, -1)
	onehot := OneHot(labels, K, logits.DType())
	nll := Neg(ReduceSum(Mul(logp, onehot), -1))
	if mask == nil {
		return ReduceAllMean(nll)
	}
	return MaskedReduceAllMean(nll, mask)
}
