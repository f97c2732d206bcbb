"""Reading transcripts: parse files, attribute speakers, cut speaker turns into chunks."""
