/* Native baseline of nbody.uasm: two bodies under gravity (G = 1),
   integrated with symplectic Euler; the result is the total energy at the
   end. C evaluates each expression left to right, in the program's order,
   so every operation is rounded as the VM rounds it (built with
   -ffp-contract=off, so no multiply-add is fused either). */

#include "native.h"

static double nbody(int64_t steps, double dt) {
    double m1 = 1.0, m2 = 0.001;
    double x1 = 0.0, y1 = 0.0, vx1 = 0.0, vy1 = -0.001;
    double x2 = 1.0, y2 = 0.0, vx2 = 0.0, vy2 = 1.0;
    for (int64_t i = 0; i < steps; i = add_wrapping(i, 1)) {
        double dx = x2 - x1;
        double dy = y2 - y1;
        /* s = dt / (r2 * sqrt(r2)), r2 = dx*dx + dy*dy */
        double r2 = dx * dx + dy * dy;
        double s = dt / (r2 * sqrt(r2));
        vx1 = vx1 + dx * m2 * s;
        vy1 = vy1 + dy * m2 * s;
        vx2 = vx2 - dx * m1 * s;
        vy2 = vy2 - dy * m1 * s;
        x1 = x1 + vx1 * dt;
        y1 = y1 + vy1 * dt;
        x2 = x2 + vx2 * dt;
        y2 = y2 + vy2 * dt;
    }
    double kinetic1 = 0.5 * m1 * (vx1 * vx1 + vy1 * vy1);
    double kinetic2 = 0.5 * m2 * (vx2 * vx2 + vy2 * vy2);
    double dx = x2 - x1;
    double dy = y2 - y1;
    double potential = m1 * m2 / sqrt(dx * dx + dy * dy);
    return kinetic1 + kinetic2 - potential;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 2, "STEPS DT");
    int64_t steps = param_i64(argv[1], "steps");
    double dt = param_f64(argv[2], "dt");
    uint64_t start = now_ns();
    OPAQUE(steps);
    OPAQUE(dt);
    int64_t result = f64_bits(nbody(steps, dt));
    OPAQUE(result);
    return report(result, start, now_ns());
}
