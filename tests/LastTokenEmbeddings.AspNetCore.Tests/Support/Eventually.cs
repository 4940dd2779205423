namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>Waits for a condition the server reaches on its own (bookkeeping after a response); fails after a timeout.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; the timeout only turns a hang into a failure.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }
}
