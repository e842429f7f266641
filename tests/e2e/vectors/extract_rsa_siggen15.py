#!/usr/bin/env python3
"""Extracts the NIST CAVP RSA PKCS#1 v1.5 SigGen vectors Trent can use (moduli 2048, 3072,
4096; SHA-256/384/512; two messages each) from the `cryptography_vectors` package file
asymmetric/RSA/FIPS_186-2/SigGen15_186-2.txt into rsa_siggen15.json. Run once by hand:
    pip install cryptography_vectors && python3 extract_rsa_siggen15.py > rsa_siggen15.json
or with the file's path as the first argument.
"""
import json
import os
import sys

if len(sys.argv) > 1:
    path = sys.argv[1]
else:
    import cryptography_vectors
    path = os.path.join(os.path.dirname(cryptography_vectors.__file__), "asymmetric", "RSA", "FIPS_186-2",
                        "SigGen15_186-2.txt")
out, mod, key, taken = [], None, {}, {}
for line in open(path):
    line = line.strip()
    if line.startswith("[mod = "):
        mod = int(line[7:-1])
        key = {}
    elif " = " in line:
        k, v = line.split(" = ", 1)
        if k in ("n", "e", "d"):
            key[k] = v
        elif k == "SHAAlg":
            alg = v
        elif k == "Msg":
            msg = v
        elif k == "S":
            want = mod in (2048, 3072, 4096) and alg in ("SHA256", "SHA384", "SHA512")
            if want and taken.get((mod, alg), 0) < 2:
                taken[(mod, alg)] = taken.get((mod, alg), 0) + 1
                out.append({"mod": mod, "n": key["n"], "e": key["e"], "d": key["d"], "alg": alg, "msg": msg, "signature": v.lower()})
print(json.dumps({"source": "NIST CAVP SigGen15 (PKCS#1 v1.5), FIPS 186-2, via cryptography_vectors", "vectors": out}, indent=1))
