start=1795677233
end=1795677538
load_before="1.14 4.40 5.53"
load_after="3.63 5.69 5.98"
when="2026-11-26 07:18 UTC"
runs=5
rev=cdb75bc
