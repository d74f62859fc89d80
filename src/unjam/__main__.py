from unjam.cli import main

main()
