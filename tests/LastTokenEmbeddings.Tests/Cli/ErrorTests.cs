namespace LastTokenEmbeddings.Tests.Cli;

/// <summary>Errors are one line on stderr (<c>lte: error: ...</c>) with exit code 1 (runtime) or 2 (usage).</summary>
public class ErrorTests
{
    [TestCase("embed", "hello")]
    [TestCase("compare")]
    [TestCase("tokenize", "hello")]
    [TestCase("info")]
    public async Task Missing_model_directory_is_one_line_naming_the_path(string command, params string[] rest)
    {
        var missing = Path.Combine(Path.GetTempPath(), "lte-no-such-model-" + Guid.NewGuid().ToString("N"));
        var run = await Lte.Run([command, "--model", missing, .. rest]);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stdout, Is.Empty);
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.StartWith("lte: error: ").And.Contain(missing).And.Not.Contain("   at "));
    }

    [Test]
    public async Task Bad_pooling_lists_the_valid_values()
    {
        var run = await Lte.OnFixture("embed", "--pooling", "max", "hello");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("max"));
        foreach (var name in LastTokenEmbeddings.Pooling.PoolingStrategies.Names)
            Assert.That(run.Stderr, Does.Contain(name));
    }

    [Test]
    public async Task Bad_pooling_in_a_list_is_rejected()
    {
        var run = await Lte.OnFixture("compare", "--pooling", "mean,cls");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("'cls'").And.Contain("weighted-mean"));
    }

    [TestCase("--dtype", "int8")]
    [TestCase("--format", "xml")]
    [TestCase("--prompt", "alpaca")]
    [TestCase("--dimensions", "0")]
    [TestCase("--layer", "-1")]
    [TestCase("--max-tokens", "lots")]
    [TestCase("--role", "passage")]
    public async Task Bad_option_values_are_usage_errors(string option, string value)
    {
        var run = await Lte.OnFixture("embed", option, value, "hello");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.StartWith("lte: error: ").And.Contain(option));
    }

    [Test]
    public async Task Values_the_model_cannot_honour_are_usage_errors_without_a_stack_trace()
    {
        var run = await Lte.OnFixture("embed", "--dimensions", "100", "hello");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("64").And.Not.Contain("(Parameter"));
    }

    [Test]
    public async Task Verbose_adds_the_stack_trace()
    {
        var run = await Lte.OnFixture("embed", "--dimensions", "100", "--verbose", "hello");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines[0], Does.StartWith("lte: error: "));
        Assert.That(run.Stderr, Does.Contain("   at "));
    }

    [Test]
    public async Task Broken_checkpoint_is_a_runtime_error_naming_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("lte-broken-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{ not json");
            var run = await Lte.Run("info", "--model", dir);
            Assert.That(run.ExitCode, Is.EqualTo(1));
            Assert.That(run.StderrLines, Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.Contain("config.json"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Unknown_command_and_missing_command_are_usage_errors()
    {
        var unknown = await Lte.Run("frobnicate");
        Assert.That(unknown.ExitCode, Is.EqualTo(2));
        Assert.That(unknown.StderrLines, Has.Length.EqualTo(1));
        var none = await Lte.Run();
        Assert.That(none.ExitCode, Is.EqualTo(2));
        Assert.That(none.StderrLines, Has.Length.EqualTo(1));
    }

    [Test]
    public async Task Missing_input_file_is_a_runtime_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "lte-no-such-input-" + Guid.NewGuid().ToString("N") + ".txt");
        var run = await Lte.OnFixture("embed", "--input", missing);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain(missing));
    }

    [Test]
    public async Task Help_goes_to_stdout_and_succeeds()
    {
        var run = await Lte.Run("compare", "--help");
        Assert.That(run.ExitCode, Is.EqualTo(0));
        Assert.That(run.Stdout, Does.Contain("--pooling").And.Contain("--query"));
    }
}
