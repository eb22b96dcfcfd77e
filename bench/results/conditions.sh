start=1795678992
end=1795679304
load_before="0.99 2.78 4.14"
load_after="2.27 3.34 4.06"
when="2026-11-26 07:48 UTC"
runs=5
rev=b5eeffe
