from unjam.entry import main

main()
