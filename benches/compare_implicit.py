#!/usr/bin/env python3
"""Reference figures for `xsell backtest`, from the Python `implicit` library.

Runs the same protocol as `xsell backtest` (src/recommend/backtest.rs) on a
real export, with popularity, implicit's BM25 item-kNN and ALS in place of
xsell's sources, so the two tables can be read side by side:

- customers evaluated: those with orders both before and at/after the split;
- `all`: any product bought after the split counts, owned products may be
  suggested; `new`: only products never bought before count, owned products
  are not suggested (customers with no new product are not evaluated);
- HitRate@K, Precision@K, Recall@K, NDCG@K averaged over customers; coverage
  = share of the catalog (every product in the file) suggested to anyone;
- popularity = distinct buyers in the 90 days before the split (xsell's
  `bestsellers` default).

Usage (needs numpy, scipy, pandas and implicit==0.7.3, e.g. in a venv):

    python3 benches/compare_implicit.py --data ../shared/data --dataset online-retail --split 2011-04-01
    python3 benches/compare_implicit.py --data ../shared/data --dataset groceries --split 2015-01-01

The data is read from where it lives (--data or $XSELL_DATA); nothing is copied.
"""

import argparse
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def load(data, dataset):
    """(customer, product, timestamp) rows of completed purchases."""
    if dataset == "online-retail":
        path = os.path.join(data, "online-retail", "online-retail-2010-12_2011-05.csv")
        df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
        df = df[df.CustomerID.notna() & ~df.InvoiceNo.str.startswith("C")]
        return pd.DataFrame(
            {
                "customer": df.CustomerID,
                "product": df.StockCode,
                "ts": pd.to_datetime(df.InvoiceDate),
            }
        )
    if dataset == "groceries":
        path = os.path.join(data, "groceries", "Groceries_dataset.csv")
        df = pd.read_csv(path, dtype={"Member_number": str})
        return pd.DataFrame(
            {
                "customer": df.Member_number,
                "product": df.itemDescription,
                "ts": pd.to_datetime(df.Date, format="%d-%m-%Y"),
            }
        )
    sys.exit(f"unknown dataset {dataset}")


def evaluate(recommend, customers, before, after, protocol, k, catalog_size):
    hits = precision = recall = ndcg = 0.0
    evaluated = 0
    suggested = set()
    for c in customers:
        relevant = after[c] if protocol == "all" else after[c] - before[c]
        if not relevant:
            continue
        recs = recommend(c, protocol)[:k]
        evaluated += 1
        suggested.update(recs)
        flags = [r in relevant for r in recs]
        n = sum(flags)
        hits += n > 0
        precision += n / k
        recall += n / len(relevant)
        dcg = sum(1 / np.log2(i + 2) for i, f in enumerate(flags) if f)
        ideal = sum(1 / np.log2(i + 2) for i in range(min(len(relevant), k)))
        ndcg += dcg / ideal
    m = max(evaluated, 1)
    return dict(
        customers=evaluated,
        hr=hits / m,
        p=precision / m,
        r=recall / m,
        ndcg=ndcg / m,
        coverage=len(suggested) / catalog_size,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("XSELL_DATA", "../shared/data"))
    parser.add_argument("--dataset", default="online-retail", choices=["online-retail", "groceries"])
    parser.add_argument("--split", default="2011-04-01")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--factors", type=int, default=64)
    args = parser.parse_args()

    import implicit
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import BM25Recommender

    rows = load(args.data, args.dataset)
    split = pd.Timestamp(args.split)
    train, test = rows[rows.ts < split], rows[rows.ts >= split]
    products = sorted(rows["product"].unique())
    index = {p: i for i, p in enumerate(products)}
    before = train.groupby("customer")["product"].apply(lambda s: {index[p] for p in s}).to_dict()
    after = test.groupby("customer")["product"].apply(lambda s: {index[p] for p in s}).to_dict()
    customers = sorted(set(before) & set(after))

    # Popularity: distinct buyers in the 90 days before the split, ties by first appearance.
    recent = train[train.ts >= split - pd.Timedelta(days=90)]
    popular = [index[p] for p in recent.groupby("product")["customer"].nunique()
               .sort_values(ascending=False, kind="stable").index]

    def by_popularity(c, protocol):
        return popular if protocol == "all" else [p for p in popular if p not in before[c]]

    # Customer × product matrix of order lines before the split.
    users = sorted(before)
    user_index = {u: i for i, u in enumerate(users)}
    counts = train.groupby(["customer", "product"]).size()
    matrix = sp.csr_matrix(
        (
            counts.values.astype(np.float32),
            ([user_index[u] for u, _ in counts.index], [index[p] for _, p in counts.index]),
        ),
        shape=(len(users), len(products)),
    )

    def implicit_recommender(model):
        def recommend(c, protocol):
            row = user_index[c]
            ids, _ = model.recommend(row, matrix[row], N=args.k,
                                     filter_already_liked_items=(protocol == "new"))
            return list(ids)
        return recommend

    contenders = [("popularity (90 days)", by_popularity)]
    for neighbours in (20, 100):
        knn = BM25Recommender(K=neighbours)
        knn.fit(matrix, show_progress=False)
        contenders.append((f"bm25 item-kNN K={neighbours}", implicit_recommender(knn)))
    als = AlternatingLeastSquares(factors=args.factors, random_state=42)
    als.fit(matrix, show_progress=False)
    contenders.append((f"ALS {args.factors} factors", implicit_recommender(als)))

    k = args.k
    print(f"implicit {implicit.__version__}, {args.dataset}, split {args.split}, K = {k}")
    print(f"{len(train):,} purchase rows before the split, {len(customers):,} customers bought before and after, {len(products):,} products")
    for protocol in ("all", "new"):
        print(f"\n{protocol}")
        print(f"  {'recommender':<22} {'HR@'+str(k):>7} {'P@'+str(k):>7} {'R@'+str(k):>7} {'NDCG@'+str(k):>8} {'coverage':>9} {'customers':>10}")
        for name, recommend in contenders:
            s = evaluate(recommend, customers, before, after, protocol, k, len(products))
            print(f"  {name:<22} {s['hr']:>7.3f} {s['p']:>7.3f} {s['r']:>7.3f} {s['ndcg']:>8.3f} {s['coverage']*100:>8.1f}% {s['customers']:>10,}")


if __name__ == "__main__":
    main()
