"""Time ``python build.py import`` on lists of national size.

    python bench/import_scale.py [--certificates 400] [--pilot-rows 20000]

Writes a batch list of 400 certificates from 270 organizations (CSV) and a pilot-college
list of 20,000 rows (XLSX: 2,000 colleges in 31 provinces, 10 certificates each, half of
them with a school code) into a temporary directory, copies `registry/` beside them, and
runs the two imports as child processes, one after the other. Prints ONE JSON line: the
wall time of both imports together, the peak resident set size of the larger child
(`getrusage(RUSAGE_CHILDREN).ru_maxrss`), what was created, and a re-import's wall time
(nothing to change). The bar: wall_s <= 20 and peak_rss_mb <= 1024 on the 2-core machine.
The names are invented and every file lives in the temporary directory.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
BAR_WALL_S = 20.0
BAR_RSS_MB = 1024.0
FIELDS = ["养老服务", "信息技术", "物流", "智能制造", "财经商贸", "建筑"]


def province_codes() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from xcert.codes import PROVINCES

    return [c for c in PROVINCES if c not in ("71", "81", "82")][:31]


def cert_name(i: int) -> str:
    return f"基准测试证书{i:03d}"


def write_batch_list(path: Path, n_certs: int) -> None:
    n_orgs = max(1, n_certs * 270 // 400)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["第四批职业技能等级证书名单（基准测试数据）"])
        out.writerow(["序号", "职业技能等级证书名称", "英文名称", "培训评价组织名称", "所属领域", "等级"])
        for i in range(n_certs):
            org = f"北京基准{i % n_orgs:03d}科技有限公司"
            out.writerow(
                [
                    i + 1,
                    cert_name(i),
                    f"Bench Certificate {i:03d}",
                    org,
                    FIELDS[i % len(FIELDS)],
                    "初级、中级、高级",
                ]
            )
        out.writerow(["合计", n_certs])


def write_pilot_list(path: Path, rows: int, n_certs: int) -> None:
    provinces = province_codes()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(["试点院校名单（基准测试数据）"])
    ws.append(["省份", "院校名称", "院校代码", "证书名称", "等级", "批次"])
    per_college = 10
    for r in range(rows):
        college = r // per_college
        province = provinces[college % len(provinces)]
        code = f"41{province}{college:06d}" if college % 2 == 0 else None
        name = f"基准{college:04d}职业技术学院"
        cert = cert_name((college * 7 + r % per_college) % n_certs)
        ws.append([province, name, code, cert, "初级", "4"])
    ws.append(["备注：基准测试数据"])
    wb.save(path)


def run(args: list[str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], capture_output=True, text=True)
    return proc.returncode, time.perf_counter() - t0, (proc.stdout + proc.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=400, help="certificates in the batch list")
    parser.add_argument("--pilot-rows", type=int, default=20_000, help="rows in the pilot list")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xcert-import-bench-") as tmp:
        work = Path(tmp)
        registry = work / "registry"
        shutil.copytree(ROOT / "registry", registry)
        write_batch_list(work / "batch.csv", args.certificates)
        write_pilot_list(work / "pilots.xlsx", args.pilot_rows, args.certificates)
        common = ["--registry", str(registry), "--source", "基准测试（非官方）"]
        steps = [
            [
                "import",
                "certificates",
                str(work / "batch.csv"),
                "--batch",
                "4",
                "--date",
                "2020-12-31",
                *common,
            ],
            ["import", "pilots", str(work / "pilots.xlsx"), "--date", "2021-03-01", *common],
        ]
        walls, codes, tails = [], [], []
        for step in steps:
            code, wall, output = run(step)
            walls.append(wall)
            codes.append(code)
            tails.append(output.splitlines()[-1] if output else "")
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        again = run(steps[1])
        counts = {
            "organizations": len(list((registry / "organizations").glob("*.yaml"))),
            "certificates": len(list((registry / "certificates").glob("*.yaml"))),
            "colleges_files": len(list((registry / "colleges").glob("*.yaml"))),
        }
    wall_s = sum(walls)
    result = {
        "bench": "import_scale",
        "certificates": args.certificates,
        "pilot_rows": args.pilot_rows,
        "wall_s": round(wall_s, 2),
        "wall_s_batch": round(walls[0], 2),
        "wall_s_pilots": round(walls[1], 2),
        "peak_rss_mb": round(rss, 1),
        "reimport_wall_s": round(again[1], 2),
        "reimport": again[2].splitlines()[-1] if again[2] else "",
        "exit_codes": codes,
        "last_lines": tails,
        "registry_after": counts,
        "bar": {"wall_s": BAR_WALL_S, "peak_rss_mb": BAR_RSS_MB},
        "ok": all(c == 0 for c in codes) and wall_s <= BAR_WALL_S and rss <= BAR_RSS_MB,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
