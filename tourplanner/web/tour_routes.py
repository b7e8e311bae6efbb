"""Tour routes: the city's curation pages and the public route pages (owner: tour routes work)."""
