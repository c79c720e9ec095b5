"""The SQL catalog: tables (:mod:`models`), engines (:mod:`db`), query functions (:mod:`queries`)."""
