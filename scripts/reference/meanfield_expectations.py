# Reference values for tests/test_probes.cpp: E[phi(z)^2] and E[phi'(z)^2], z ~ N(0, q), by mpmath at
# 30 digits, split at the kink. Run: /usr/bin/python3 scripts/reference/meanfield_expectations.py
import mpmath as mp
mp.mp.dps = 30
lam = mp.mpf('1.0507009873554804934193349852946'); alp = mp.mpf('1.6732632423543772848170429916717')
acts = {
 'tanh': (lambda z: mp.tanh(z), lambda z: 1-mp.tanh(z)**2),
 'sigmoid': (lambda z: 1/(1+mp.e**(-z)), lambda z: (1/(1+mp.e**(-z)))*(1-1/(1+mp.e**(-z)))),
 'softsign': (lambda z: z/(1+abs(z)), lambda z: 1/(1+abs(z))**2),
 'elu': (lambda z: z if z>0 else mp.expm1(z), lambda z: 1 if z>0 else mp.e**z),
 'selu': (lambda z: lam*(z if z>0 else alp*mp.expm1(z)), lambda z: lam*(1 if z>0 else alp*mp.e**z)),
 'gelu': (lambda z: z*(1+mp.erf(z/mp.sqrt(2)))/2, lambda z: (1+mp.erf(z/mp.sqrt(2)))/2 + z*mp.e**(-z*z/2)/mp.sqrt(2*mp.pi)),
}
for name,(f,d) in acts.items():
  for q in ['1e-4','1','100','1e4']:
    q=mp.mpf(q); s=mp.sqrt(q)
    dens=lambda z: mp.e**(-z*z/(2*q))/mp.sqrt(2*mp.pi*q)
    pts=[-40*s,-s,0,s,40*s]
    e2=mp.quad(lambda z: f(z)**2*dens(z), pts)
    d2=mp.quad(lambda z: d(z)**2*dens(z), pts)
    print('{"%s", %s, %s, %s},'%(name, mp.nstr(q,3), mp.nstr(e2,20), mp.nstr(d2,20)))
