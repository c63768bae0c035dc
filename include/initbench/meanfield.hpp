// meanfield.hpp: signal propagation in wide random networks (Poole et al. 2016, Schoenholz et
// al. 2017), for comparing measured statistics with theory.
//
// With W_ij ~ (0, sw2 / fan_in) and b_i ~ (0, sb2), pre-activations of a wide layer are
// approximately N(0, q_l), where
//   q_1 = sw2_1 * E_x[|x|^2] / n_0 + sb2_1                  (the input's mean square)
//   q_l = sw2_l * E_{z ~ N(0, q_{l-1})}[phi(z)^2] + sb2_l    (the variance map)
//   chi_1 = sw2 * E_{z ~ N(0, q*)}[phi'(z)^2]                 at the fixed point q* of the map
// chi_1 < 1: ordered phase (gradients vanish with depth); chi_1 > 1: chaotic (they explode);
// chi_1 = 1: the edge of chaos. Correlations between two inputs approach their fixed point c*
// at a rate chi_c = sw2 * E[phi'(u1) phi'(u2)] (u1, u2 ~ N(0, q*) with correlation c*), over the
// depth scale xi_c = -1 / ln(chi_c); networks train when depth <~ 6 xi_c.
#pragma once

#include "initbench/activation.hpp"

namespace initbench {

// E[f(z)] for z ~ N(0, q): closed forms for identity, relu and leaky_relu, else composite
// Gauss-Legendre quadrature graded around the origin (relative error below 1e-10 for every
// activation and 1e-4 <= q <= 1e4; see tests/test_probes.cpp).
double gaussian_mean_phi2(const Activation& act, double q);   // E[phi(z)^2]
double gaussian_mean_dphi2(const Activation& act, double q);  // E[phi'(z)^2]

double meanfield_next_q(const Activation& act, double q_prev, double sw2, double sb2);
// The fixed point q* of the variance map. identity, relu and leaky_relu have a linear map
// q -> lambda q + sb2 (lambda = chi_1): q* = sb2 / (1 - lambda) for lambda < 1, inf above
// (and at lambda = 1 with sb2 > 0), nan at lambda = 1 with sb2 = 0 (every q is fixed). Other
// activations: iterated from q = 1; inf when q passes 1e30 (1 + sw2 + sb2) or still grows after
// 10000 steps; the 10000th iterate when it still falls (q ~ 1 / step at criticality with sb2 = 0).
double meanfield_fixed_point(const Activation& act, double sw2, double sb2);
// chi_1 at q*; for identity, relu and leaky_relu lambda itself, whatever q is. nan where q* is.
double meanfield_chi1(const Activation& act, double sw2, double sb2);
// The stable fixed point c* of the correlation map: 1 in the ordered phase and always for
// identity, relu and leaky_relu; nan where q* is not finite, and in the chaotic phase past
// q* = 1e12 (fully saturated units, where the quadrature would take seconds).
double meanfield_c_star(const Activation& act, double sw2, double sb2);
// Depth scale of correlation propagation -1 / ln(chi_c); inf at criticality (chi_c >= 1) and for
// the relu family unless sb2 > 0 and lambda < 1 (correlations then approach 1 polynomially);
// nan where q* is not finite or c* is nan.
double meanfield_xi_c(const Activation& act, double sw2, double sb2);

// The three together, computed once per process for each (activation, sw2, sb2); thread-safe.
struct MeanField {
  double q_star;
  double chi_1;
  double xi_c;
};
MeanField meanfield(const Activation& act, double sw2, double sb2);

}  // namespace initbench
