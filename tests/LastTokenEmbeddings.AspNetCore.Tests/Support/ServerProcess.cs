using System.Diagnostics;
using System.Text;

namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>The real host, <c>src/LastTokenEmbeddings.Server</c>'s build output, run as a child process.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process)
    {
        this.process = process;
    }

    /// <summary>The server's dll, built with the same configuration as these tests.</summary>
    public static string ServerAssembly
    {
        get
        {
            // Tests run from tests/<project>/bin/<Configuration>/<tfm>/.
            var testDirectory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            var configuration = testDirectory.Parent!.Name;
            var path = Path.Combine(Fixtures.RepositoryRoot, "src", "LastTokenEmbeddings.Server", "bin", configuration, testDirectory.Name, "LastTokenEmbeddings.Server.dll");
            Assert.That(File.Exists(path), Is.True, $"the server is built: {path}");
            return path;
        }
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (output)
                return output.ToString();
        }
    }

    /// <summary>The exit code, once exited.</summary>
    public int ExitCode => process.ExitCode;

    /// <summary>Starts <c>dotnet LastTokenEmbeddings.Server.dll ARGS</c> with extra environment variables.</summary>
    public static ServerProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerAssembly);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        var server = new ServerProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
        server.process.OutputDataReceived += (_, e) => server.Record(e.Data);
        server.process.ErrorDataReceived += (_, e) => server.Record(e.Data);
        server.process.Exited += (_, _) => server.listening.TrySetException(new InvalidOperationException("the server exited before listening"));
        server.process.Start();
        server.process.BeginOutputReadLine();
        server.process.BeginErrorReadLine();
        return server;
    }

    private void Record(string? line)
    {
        if (line is null)
            return;
        lock (output)
            output.AppendLine(line);
        const string prefix = "listening on ";
        if (line.StartsWith(prefix, StringComparison.Ordinal))
            listening.TrySetResult(new Uri(line[prefix.Length..].Trim()));
    }

    /// <summary>The address from the server's "listening on URL" line.</summary>
    public async Task<Uri> WaitUntilListeningAsync(TimeSpan timeout)
    {
        try
        {
            return await listening.Task.WaitAsync(timeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Assert.Fail($"the server did not start ({e.Message}); its output:\n{Output}");
            throw;
        }
    }

    /// <summary>Polls <c>GET /health</c> until it answers 200.</summary>
    public async Task WaitUntilHealthyAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var response = await client.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // not accepting connections yet
            }
            if (DateTime.UtcNow > deadline || process.HasExited)
                Assert.Fail($"/health never answered 200; server output:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Asks the server to stop as Kubernetes does (SIGTERM; a kill on Windows) and waits for it to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (OperatingSystem.IsWindows())
        {
            process.Kill();
        }
        else
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        await WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server did not exit within {timeout}; its output:\n{Output}");
        }
        process.WaitForExit(); // flushes the redirected output
    }

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}
