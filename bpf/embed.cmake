file(READ ${ABI} abi)
file(READ ${RUNTIME} runtime)
file(WRITE ${OUT} "// generated from bpf/abi.h and bpf/bpftables.bpf.h\n"
  "namespace bpftables::bpf {\n"
  "extern const char* const abi_h = R\"BPFT(${abi})BPFT\";\n"
  "extern const char* const runtime_h = R\"BPFT(${runtime})BPFT\";\n"
  "}\n")
