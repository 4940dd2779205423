namespace LastTokenEmbeddings.Cli;

/// <summary>Finds the model directory: <c>--model</c>, or else the tiny test model vendored in the repository.</summary>
internal static class ModelLocator
{
    /// <summary>The vendored fixture, relative to the repository root.</summary>
    public static readonly string FixtureRelativePath = Path.Combine("tests", "fixtures", "tiny-mistral");

    /// <summary>
    /// The full path of <paramref name="model"/> when given (it must be an existing directory); otherwise the first
    /// <c>tests/fixtures/tiny-mistral</c> found walking up from the executable's directory, then from the current directory.
    /// </summary>
    /// <param name="model">The <c>--model</c> value, or <see langword="null"/>.</param>
    /// <param name="context">Receives a note when the fixture is used.</param>
    /// <exception cref="CliRuntimeException">The directory does not exist.</exception>
    /// <exception cref="UsageException"><paramref name="model"/> is absent and no fixture was found.</exception>
    public static string Resolve(string? model, CliContext context)
    {
        if (model is not null)
        {
            if (string.IsNullOrWhiteSpace(model))
                throw new UsageException("--model needs a directory.");
            var full = Path.GetFullPath(model);
            if (File.Exists(full))
                throw new CliRuntimeException($"--model must be a directory, but '{full}' is a file.");
            if (!Directory.Exists(full))
                throw new CliRuntimeException($"model directory not found: '{full}'.");
            return full;
        }

        var found = FindFixture(AppContext.BaseDirectory) ?? FindFixture(Directory.GetCurrentDirectory());
        if (found is null)
            throw new UsageException(
                $"no --model given and the default test model ({FixtureRelativePath.Replace('\\', '/')}) was not found above the tool or the current directory; pass --model DIR (a Hugging Face Mistral directory).");
        context.Note($"no --model given; using the tiny random-weight test model at '{found}'.");
        return found;
    }

    /// <summary>The fixture directory above <paramref name="start"/>, or <see langword="null"/>.</summary>
    public static string? FindFixture(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FixtureRelativePath);
            if (File.Exists(Path.Combine(candidate, "config.json")))
                return candidate;
        }
        return null;
    }
}
