from omnidesk.cli import main

main()
