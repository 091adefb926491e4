"""`python -m audit.cli` runs the command line (same as the `integrity-audit` script)."""
from audit.cli import main

if __name__ == "__main__":
    main()
