from listingwatch.cli import main

main()
