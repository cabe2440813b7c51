"""The one generic spider; sites differ only in their source YAML."""
