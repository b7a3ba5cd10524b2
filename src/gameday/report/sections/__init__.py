"""Optional report sections: each module has build(events) -> data or None, and a template _<name>.md.j2."""
