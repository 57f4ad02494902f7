"""The verdict rules' error rates and power, simulated: what docs/the-study.md reports (tests/test_stats.py asserts
the same rates stay within their bounds).

For each kind of claim (a conjunction "all", a union "any") and correlation between its four measures, 20,000
claims of 8 seeds each (sd 1, effect of interest 1) are judged twice: with no effect (how often the rules say the
claim holds, or refute it) and with every effect at the effect of interest (power, and how often the rules wrongly
say no effect of that size). numpy only, seconds.

    python studies/calibration.py
"""

import numpy as np

from nml_tutorial import stats

SIMS, SEEDS, MEASURES = 20_000, 8, 4


def rate(states, *names) -> float:
    return float(np.isin(states, names).mean())


def main():
    print("| kind | correlation | no effect: holds | no effect: holds or mixed | no effect: refuted or mixed | "
          "effect = δ: holds (power) | effect = δ: 'no effect of the claimed size' |\n|---|---|---|---|---|---|---|")
    for kind in stats.KINDS:
        for rho in (0.0, 0.7):
            null = stats.simulated_claim_states(0.0, kind, rho, MEASURES, SEEDS, sims=SIMS, seed=10)
            at_delta = stats.simulated_claim_states(1.0, kind, rho, MEASURES, SEEDS, sims=SIMS, seed=11)
            print(f"| {kind} | {rho:g} | {rate(null, 'holds', 'holds, smaller than claimed'):.3f} | "
                  f"{rate(null, 'holds', 'holds, smaller than claimed', 'mixed'):.3f} | "
                  f"{rate(null, 'refuted', 'mixed'):.3f} | "
                  f"{rate(at_delta, 'holds', 'holds, smaller than claimed'):.3f} | "
                  f"{rate(at_delta, 'no effect of the claimed size'):.3f} |")
    n = stats.seeds_needed(1.0, 1.0)
    print(f"\nOne measure, effect = sd = δ: power {stats.power(SEEDS, 1.0):.3f} with {SEEDS} seeds; {n} seeds for "
          f"80 % ({stats.power(n, 1.0):.3f}); {stats.seeds_needed(1.0, 1.0, alpha=0.05 / MEASURES)} seeds when a "
          f"claim's {MEASURES} measures share the 5 % (Holm's first step).")


if __name__ == "__main__":
    main()
