"""Platform-liaison work: from a confirmed listing to a report a platform acts on, and proof of what it did.

Plain library code (registry, cases, packets, verification, accountability); the CLI
(`listingwatch takedown ...`) and the web app are thin shells over it.
"""
