start=1795679371
end=1795679690
load_before="0.70 2.64 3.76"
load_after="1.90 2.97 3.66"
when="2026-11-26 07:54 UTC"
runs=5
rev=5205faa
