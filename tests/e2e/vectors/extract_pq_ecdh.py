#!/usr/bin/env python3
"""Extracts known-answer vectors from the `cryptography_vectors` package into JSON data files:
  - mldsa_kat.json: ML-DSA-44/65/87 deterministic KATs (asymmetric/MLDSA/kat_MLDSA_*_det_pure.rsp),
    two per parameter set: the seed xi, the public key it must give, a message, a context and
    the signature (the first bytes of `sm`, which is signature || message);
  - ecdh_cavs.json: NIST CAVS ECC CDH static-unified "ZZ only" vectors marked Correct
    (asymmetric/ECDH/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_init.fax), two per curve for
    P-256, P-384 and P-521: the private key d, the peer's public point and the shared Z.
Run once by hand:
    pip install cryptography_vectors && python3 extract_pq_ecdh.py
or with the package's directory as the first argument. Writes both files next to itself.
"""
import json
import os
import sys

if len(sys.argv) > 1:
    root = sys.argv[1]
else:
    import cryptography_vectors
    root = os.path.dirname(cryptography_vectors.__file__)
here = os.path.dirname(os.path.abspath(__file__))
SIG_LEN = {"44": 2420, "65": 3309, "87": 4627}


def records(lines, first):
    """`key = value` records; a record starts at its `first` key."""
    rec = {}
    for line in lines:
        line = line.strip()
        if " = " not in line:
            continue
        k, v = line.split(" = ", 1)
        if k == first and rec:
            yield rec
            rec = {}
        rec[k] = v
    if rec:
        yield rec


mldsa = []
for level in ("44", "65", "87"):
    with open(os.path.join(root, "asymmetric", "MLDSA", f"kat_MLDSA_{level}_det_pure.rsp")) as f:
        for r in list(records(f, "count"))[:2]:
            mldsa.append({"spec": f"ML_DSA_{level}", "xi": r["xi"], "pk": r["pk"], "msg": r["msg"], "ctx": r["ctx"],
                          "signature": r["sm"][: 2 * SIG_LEN[level]]})
with open(os.path.join(here, "mldsa_kat.json"), "w") as f:
    json.dump({"source": "ML-DSA deterministic KATs (kat_MLDSA_*_det_pure.rsp) via cryptography_vectors",
               "vectors": mldsa}, f, indent=1)

curves = {"P-256": "ECC_NIST_P256", "P-384": "ECC_NIST_P384", "P-521": "ECC_NIST_P521"}
ecdh, taken = [], {}
path = os.path.join(root, "asymmetric", "ECDH", "KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_init.fax")
names, section, by_curve = {}, None, {}
with open(path) as f:
    for line in f:
        line = line.strip()
        if line.startswith("[Curve selected:"):
            names[section] = line.split(":", 1)[1].strip(" ]")
        elif line.startswith("[") and " - " in line:
            section = names.get(line[1:].split(" - ")[0])
        elif line.startswith("["):
            section = line.strip("[]")
        elif section in curves:
            by_curve.setdefault(section, []).append(line)
for curve, lines in by_curve.items():
    for r in records(lines, "COUNT"):
        if r.get("Result", "").startswith("P") and taken.get(curve, 0) < 2:
            taken[curve] = taken.get(curve, 0) + 1
            ecdh.append({"spec": curves[curve], "d": r["dsIUT"], "peer_x": r["QsCAVSx"], "peer_y": r["QsCAVSy"],
                         "z": r["Z"]})
with open(os.path.join(here, "ecdh_cavs.json"), "w") as f:
    json.dump({"source": "NIST CAVS 11.0 ECC CDH (KASValidityTest ECCStaticUnified NOKC ZZOnly) via cryptography_vectors",
               "vectors": ecdh}, f, indent=1)
