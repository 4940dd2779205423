/*
 * oneMKL (statically linked into libtorch_cpu.so) asks this exported function whether the CPU is an
 * Intel one and picks slower float32 GEMM kernels when it is not. Loaded with RTLD_GLOBAL before
 * libtorch resolves the symbol, this definition interposes MKL's own and answers "yes", so AMD CPUs
 * with AVX2/AVX-512 get the same kernels as Intel ones. See docs/benchmarks.md.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
